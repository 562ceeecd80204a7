"""The one place that talks to Google: the OAuth consent flow (google-auth-oauthlib), the
Calendar v3 client (google-api-python-client, its bundled discovery document, the endpoint
from settings) and token revocation. Everything above this module sees plain data and three
exceptions: ReconsentNeeded (the grant is gone), TransientGoogleError (retry later),
GoogleRequestError (Google refused the request itself)."""

import logging
from datetime import UTC, datetime

import httplib2
import httpx
from django.conf import settings
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

logger = logging.getLogger(__name__)

SCOPES = [
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events",
]
TIMEOUT = 10


class ReconsentNeeded(Exception):
    """The refresh token was revoked or expired: the user must consent again."""


class TransientGoogleError(Exception):
    """429, 5xx or a network failure that outlived the client's own retries."""


class GoogleRequestError(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(f"{status} {reason}")
        self.status = status


def redirect_uri() -> str:
    return f"{settings.PUBLIC_BASE_URL}/calendars/google/callback"


def _flow(*, state: str | None = None, code_verifier: str | None = None) -> Flow:
    config = {
        "web": {
            "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
            "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_OAUTH_AUTH_URI,
            "token_uri": settings.GOOGLE_OAUTH_TOKEN_URI,
            "redirect_uris": [redirect_uri()],
        }
    }
    return Flow.from_client_config(
        config, scopes=SCOPES, state=state, code_verifier=code_verifier, redirect_uri=redirect_uri()
    )


def authorization_url(*, state: str) -> tuple[str, str]:
    """(the consent URL, the PKCE code verifier to keep until the callback)."""
    flow = _flow(state=state)
    url, _state = flow.authorization_url(access_type="offline", prompt="consent", include_granted_scopes="true")
    return url, flow.code_verifier


def exchange_code(*, code: str, state: str, code_verifier: str) -> dict:
    flow = _flow(state=state, code_verifier=code_verifier)
    try:
        flow.fetch_token(code=code)
    except Exception as exc:  # noqa: BLE001 - oauthlib raises a family of errors for a bad code
        raise GoogleRequestError(400, f"token exchange failed: {type(exc).__name__}") from exc
    creds = flow.credentials
    return _token_fields(creds)


def _token_fields(creds: Credentials) -> dict:
    expiry = creds.expiry.replace(tzinfo=UTC) if creds.expiry else None
    return {
        "access_token": creds.token or "",
        "refresh_token": creds.refresh_token or "",
        "expires_at": expiry,
        "scopes": list(creds.granted_scopes or creds.scopes or []),
    }


def credentials(*, access_token: str, refresh_token: str, expires_at: datetime | None, scopes) -> Credentials:
    return Credentials(
        token=access_token or None,
        refresh_token=refresh_token or None,
        token_uri=settings.GOOGLE_OAUTH_TOKEN_URI,
        client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
        client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
        scopes=list(scopes or SCOPES),
        expiry=expires_at.astimezone(UTC).replace(tzinfo=None) if expires_at else None,
    )


class Calendar:
    """A Calendar v3 client for one connection's credentials. `tokens()` tells the caller the
    (possibly refreshed) tokens to store back."""

    def __init__(self, creds: Credentials):
        self.creds = creds
        http = AuthorizedHttp(creds, http=httplib2.Http(timeout=TIMEOUT))
        self.service = build(
            "calendar",
            "v3",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": settings.GOOGLE_CALENDAR_API_ENDPOINT},
        )

    def tokens(self) -> dict:
        return _token_fields(self.creds)

    def _run(self, request):
        try:
            return request.execute(num_retries=settings.GOOGLE_HTTP_RETRIES)
        except RefreshError as exc:
            raise ReconsentNeeded(str(exc)[:200]) from exc
        except HttpError as exc:
            status = exc.resp.status
            if status == 401:
                raise ReconsentNeeded("401 from Google after a token refresh") from exc
            if status == 429 or status >= 500:
                raise TransientGoogleError(f"{status} from Google") from exc
            raise GoogleRequestError(status, str(exc.reason)[:200]) from exc
        except (TransportError, OSError, httplib2.HttpLib2Error) as exc:
            raise TransientGoogleError(f"network: {type(exc).__name__}") from exc

    def calendars(self) -> list[dict]:
        found, page = [], None
        while True:
            answer = self._run(self.service.calendarList().list(pageToken=page, minAccessRole="reader"))
            found += answer.get("items", [])
            page = answer.get("nextPageToken")
            if not page:
                return found

    def busy(self, *, calendar_ids: list[str], start: datetime, end: datetime) -> dict[str, list[tuple]]:
        """freebusy.query: {calendar id: [(start, end)]}; a calendar Google reports an error
        for is missing from the answer (its cache is kept)."""
        body = {
            "timeMin": start.astimezone(UTC).isoformat(),
            "timeMax": end.astimezone(UTC).isoformat(),
            "items": [{"id": c} for c in calendar_ids],
        }
        answer = self._run(self.service.freebusy().query(body=body))
        out = {}
        for calendar_id, found in (answer.get("calendars") or {}).items():
            if found.get("errors"):
                logger.warning("google freebusy error for a calendar: %s", found["errors"][:1])
                continue
            out[calendar_id] = [(_parse(b["start"]), _parse(b["end"])) for b in found.get("busy", [])]
        return out

    def insert_event(self, *, calendar_id: str, body: dict) -> dict:
        return self._run(self.service.events().insert(calendarId=calendar_id, body=body, sendUpdates="none"))

    def patch_event(self, *, calendar_id: str, event_id: str, body: dict) -> dict:
        request = self.service.events().patch(calendarId=calendar_id, eventId=event_id, body=body, sendUpdates="none")
        return self._run(request)

    def delete_event(self, *, calendar_id: str, event_id: str) -> None:
        try:
            self._run(self.service.events().delete(calendarId=calendar_id, eventId=event_id, sendUpdates="none"))
        except GoogleRequestError as exc:
            if exc.status not in (404, 410):  # already gone: the wanted end state
                raise


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def revoke(token: str) -> bool:
    """Best effort: a failed revocation never keeps the user connected on our side."""
    if not token:
        return False
    try:
        response = httpx.post(settings.GOOGLE_OAUTH_REVOKE_URI, data={"token": token}, timeout=TIMEOUT)
    except httpx.HTTPError:
        logger.warning("google token revocation failed (network)")
        return False
    return response.status_code == 200
