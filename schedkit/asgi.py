"""One ASGI application for HTTP (pages, API, SSE) and websockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schedkit.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.accounts.ws_auth import ApiKeyOrSessionAuthMiddleware  # noqa: E402
from schedkit.api.limits import BodyLimitMiddleware  # noqa: E402
from schedkit.embedded import start_embedded_worker  # noqa: E402
from schedkit.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi),  # oversized bodies refused before they are read
        "websocket": ApiKeyOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)

start_embedded_worker()
