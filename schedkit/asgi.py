"""One ASGI application for HTTP (pages, API, SSE) and websockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schedkit.settings")

import django  # noqa: E402

django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.accounts.ws_auth import ApiKeyOrSessionAuthMiddleware  # noqa: E402
from schedkit.api.limits import BodyLimitMiddleware  # noqa: E402
from schedkit.asgi_http import SchedKitASGIHandler, sync_threads  # noqa: E402
from schedkit.embedded import start_embedded_worker  # noqa: E402
from schedkit.routing import websocket_urlpatterns  # noqa: E402

# Sync views run their whole middleware chain in one worker-thread hop (schedkit/asgi_http.py).
django_asgi = SchedKitASGIHandler(threads=sync_threads())

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi),  # oversized bodies refused before they are read
        "websocket": ApiKeyOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)

start_embedded_worker()
