"""Websocket authentication: the session cookie (browsers) or an API key (agents) sent as
`Authorization: Bearer`, `X-API-Key`, or `?api_key=` (browsers cannot set headers)."""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings

from apps.accounts.authentication import presented_api_key
from apps.accounts.services import api_key_authenticate


class _Headers(dict):
    def get(self, name, default=None):
        return super().get(name.lower(), default)


class ApiKeyScopeMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        headers = _Headers((k.decode("latin1").lower(), v.decode("latin1")) for k, v in scope.get("headers", []))
        raw = presented_api_key(headers)
        if raw is None:
            raw = (parse_qs(scope.get("query_string", b"").decode()).get("api_key") or [None])[0]
        scope["api_key"] = None
        if raw:
            key = await database_sync_to_async(api_key_authenticate)(raw)
            if key is not None:
                scope = dict(scope, user=key.user, api_key=key)
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Browsers must come from an allowed host; clients that send no Origin (agents) pass,
    since cross-site hijacking needs a browser."""

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or self.validate_origin(parsed_origin)


def ApiKeyOrSessionAuthMiddleware(inner):  # noqa: N802 - reads like the Channels stacks it wraps
    allowed = ["*"] if settings.DEBUG else list(settings.ALLOWED_HOSTS)
    return BrowserOriginValidator(AuthMiddlewareStack(ApiKeyScopeMiddleware(inner)), allowed)
