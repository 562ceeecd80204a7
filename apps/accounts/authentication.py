import logging

from rest_framework import authentication, exceptions

from apps.accounts.services import api_key_authenticate, api_key_local, api_key_version_key
from schedkit.api.throttling import get_and_hit, precount_user_throttles, record_precounts
from schedkit.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)


def presented_api_key(headers) -> str | None:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`; `headers` is case-insensitive."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return headers.get("X-API-Key") or None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = presented_api_key(request.headers)
        if raw is None:
            return None
        key_hash, local = api_key_local(raw)
        if key_hash is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        if local is None:
            key = api_key_authenticate(raw, key_hash=key_hash)
        else:
            # One Redis round trip per request: the key's version token (is this process's copy
            # still current?) and the counters of the view's per-key throttles.
            hits = precount_user_throttles(request, request.parser_context.get("view"), f"key{local[0].pk}")
            try:
                version, counts = get_and_hit(api_key_version_key(key_hash), hits)
            except REDIS_UNAVAILABLE as exc:
                logger.warning("API key version not read (Redis unavailable): %s", exc)
                version = None  # the database decides; the throttles count (or fail open) themselves
            else:
                record_precounts(request, hits, counts)
            key = api_key_authenticate(raw, key_hash=key_hash, version=version)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        return key.user, key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
