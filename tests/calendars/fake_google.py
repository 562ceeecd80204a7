"""A local fake of Google at the HTTP boundary: the OAuth consent and token endpoints
(authorization code with PKCE, refresh, revoke) and the slice of Calendar v3 SchedKit uses
(calendarList.list, freebusy.query — whose busy time includes the calendar's own opaque events,
as Google's does — and events insert/patch/delete). The real
google-api-python-client talks to it through `client_options={"api_endpoint": ...}` with its
bundled discovery document, so nothing from the library is replaced.

Knobs: `fail(method, path_part, *statuses)` answers the next matching requests with those
statuses (429, 503, …); `revoke_all()` kills every grant; `requests` logs (method, path)."""

import base64
import hashlib
import json
import secrets
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

CLIENT_ID = "fake-client.apps.googleusercontent.com"
CLIENT_SECRET = "fake-secret"


class FakeGoogle:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.codes: dict[str, dict] = {}
        self.access: dict[str, str] = {}  # access token → refresh token (its grant)
        self.refresh: set[str] = set()
        self.revoked: list[str] = []
        self.failures: list[tuple[str, str, int]] = []
        self.calendars = [
            {"id": "primary@example.test", "summary": "Me", "primary": True, "accessRole": "owner"},
            {"id": "team@example.test", "summary": "Team", "accessRole": "reader"},
        ]
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.events: dict[tuple[str, str], dict] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status, payload=None, headers=None):
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if payload is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                url = urlparse(self.path)
                body = self._body()
                with fake.lock:
                    fake.requests.append((self.command, url.path))
                    for i, (method, part, status) in enumerate(fake.failures):
                        if method == self.command and part in url.path:
                            del fake.failures[i]
                            return self._send(status, {"error": {"code": status, "message": "injected"}})
                status, payload, headers = fake.route(self.command, url, body, self.headers)
                return self._send(status, payload, headers)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle  # noqa: N815 - http.server names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # --- knobs ----------------------------------------------------------------------------
    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, path_part: str, *statuses: int):
        with self.lock:
            self.failures += [(method, path_part, s) for s in statuses]

    def revoke_all(self):
        with self.lock:
            self.access.clear()
            self.refresh.clear()

    def expire_access_tokens(self):
        with self.lock:
            self.access.clear()

    def calls(self, part: str = "", method: str | None = None) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if part in p and (method is None or m == method))

    def live_events(self, calendar_id: str) -> list[dict]:
        return [e for (c, _), e in self.events.items() if c == calendar_id and e["status"] != "cancelled"]

    def consent(self, auth_url: str) -> str:
        """The user clicks "Allow": the redirect Google would send the browser to."""
        query = parse_qs(urlparse(auth_url).query)
        assert query["client_id"] == [CLIENT_ID] and query["access_type"] == ["offline"]
        assert query["code_challenge_method"] == ["S256"]
        code = secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = {
                "challenge": query["code_challenge"][0],
                "redirect_uri": query["redirect_uri"][0],
                "scope": query["scope"][0],
            }
        return f"{query['redirect_uri'][0]}?{urlencode({'state': query['state'][0], 'code': code})}"

    # --- routes ---------------------------------------------------------------------------
    def route(self, method, url, body, headers):
        path = url.path
        if path == "/token" and method == "POST":
            return self._token(parse_qs(body.decode()), headers.get("Authorization", ""))
        if path == "/revoke" and method == "POST":
            token = parse_qs(body.decode()).get("token", [""])[0]
            self.revoked.append(token)
            self.refresh.discard(token)
            for access, grant in list(self.access.items()):
                if grant == token or access == token:
                    del self.access[access]
            return 200, {}, None
        if not path.startswith("/calendar/v3/"):
            return 404, {"error": "not found"}, None
        auth = headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.access:
            return 401, {"error": {"code": 401, "message": "Invalid Credentials"}}, None
        rest = path.removeprefix("/calendar/v3/")
        if rest == "users/me/calendarList" and method == "GET":
            return 200, {"kind": "calendar#calendarList", "items": self.calendars}, None
        if rest == "freeBusy" and method == "POST":
            return self._freebusy(json.loads(body))
        parts = rest.split("/")
        if len(parts) >= 3 and parts[0] == "calendars" and parts[2] == "events":
            calendar_id = parts[1].replace("%40", "@")
            if len(parts) == 3 and method == "POST":
                return self._insert(calendar_id, json.loads(body))
            if len(parts) == 4:
                return self._event(method, calendar_id, parts[3], body)
        return 404, {"error": {"code": 404, "message": "Not Found"}}, None

    def _token(self, form, authorization=""):
        form = {k: v[0] for k, v in form.items()}
        if authorization.startswith("Basic "):  # client credentials as HTTP Basic (RFC 6749 §2.3.1)
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            form.setdefault("client_id", client_id)
            form.setdefault("client_secret", client_secret)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}, None
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}, None
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE"}, None
            refresh = "1//r-" + secrets.token_urlsafe(16)
            self.refresh.add(refresh)
            access = self._issue(refresh)
            return (
                200,
                {
                    "access_token": access,
                    "refresh_token": refresh,
                    "expires_in": 3599,
                    "scope": grant["scope"],
                    "token_type": "Bearer",
                },
                None,
            )
        if form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, None
            return 200, {"access_token": self._issue(refresh), "expires_in": 3599, "token_type": "Bearer"}, None
        return 400, {"error": "unsupported_grant_type"}, None

    def _issue(self, refresh):
        access = "ya29." + secrets.token_urlsafe(16)
        self.access[access] = refresh
        return access

    def _freebusy(self, query):
        start, end = _at(query["timeMin"]), _at(query["timeMax"])
        calendars = {}
        for item in query.get("items", []):
            # as Google: the calendar's busy time is its opaque, live events (those SchedKit
            # wrote included) plus what a test put there directly
            spans = self.busy.get(item["id"], []) + [
                (_at(e["start"]["dateTime"]), _at(e["end"]["dateTime"]))
                for e in self.live_events(item["id"])
                if e.get("transparency") != "transparent"
            ]
            calendars[item["id"]] = {
                "busy": [{"start": _z(s), "end": _z(e)} for s, e in spans if s < end and e > start]
            }
        return 200, {"kind": "calendar#freeBusy", "timeMin": query["timeMin"], "calendars": calendars}, None

    def _insert(self, calendar_id, event):
        event_id = event.get("id") or secrets.token_hex(8)
        if (calendar_id, event_id) in self.events:
            return 409, {"error": {"code": 409, "message": "The requested identifier already exists."}}, None
        stored = {**event, "id": event_id, "status": "confirmed", "sequence": 0, "etag": f'"{secrets.token_hex(4)}"'}
        self.events[(calendar_id, event_id)] = stored
        return 200, stored, None

    def _event(self, method, calendar_id, event_id, body):
        stored = self.events.get((calendar_id, event_id))
        if stored is None:
            return 404, {"error": {"code": 404, "message": "Not Found"}}, None
        if method == "DELETE":
            if stored["status"] == "cancelled":
                return 410, {"error": {"code": 410, "message": "Resource has been deleted"}}, None
            stored["status"] = "cancelled"
            return 204, None, None
        if method == "PATCH":
            stored.update(json.loads(body))
            stored["sequence"] += 1
            stored["etag"] = f'"{secrets.token_hex(4)}"'
            return 200, stored, None
        if method == "GET":
            return 200, stored, None
        return 405, {"error": "method"}, None


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
