from rest_framework import authentication, exceptions

from apps.accounts.services import api_key_authenticate


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
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        return key.user, key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
