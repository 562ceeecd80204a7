"""Request body limits in the app, independent of any proxy (SPEC §2, issue 17).

`BodyLimitMiddleware` wraps the ASGI HTTP application: a declared `Content-Length` over the
limit is answered 413 problem+json *before a byte of the body is read*; a body without a
length (chunked) is counted as it arrives and cut off at the limit. The limit is
settings.REQUEST_MAX_BYTES for ordinary bodies (JSON, forms) and settings.UPLOAD_MAX_BYTES for
uploads (multipart, images, octet streams), whose own per-endpoint checks (e.g. the capture
size) then apply. `content_length_refusal` is the same rule for the sync stack (tests' client,
WSGI), used by schedkit.api.middleware."""

import json

from django.conf import settings

from schedkit.api.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE

_UPLOAD_TYPES = ("multipart/form-data", "image/", "application/octet-stream")


def body_limit(content_type: str) -> int:
    if content_type.strip().lower().startswith(_UPLOAD_TYPES):
        return settings.UPLOAD_MAX_BYTES
    return settings.REQUEST_MAX_BYTES


def too_large_body(limit: int) -> dict:
    return {
        "type": TYPE_BASE + "request-too-large",
        "title": "Request too large",
        "status": 413,
        "code": "REQUEST_TOO_LARGE",
        "detail": f"The body exceeds the {limit} bytes this endpoint accepts.",
    }


def content_length_refusal(content_length: str | None, content_type: str) -> tuple[int, dict] | None:
    """(status, problem body) when the declared length is unusable or over the limit."""
    if not content_length:
        return None
    try:
        length = int(content_length)
    except ValueError:
        length = -1
    if length < 0:
        return 400, {
            "type": TYPE_BASE + "malformed-request",
            "title": "Malformed request",
            "status": 400,
            "code": "MALFORMED_REQUEST",
            "detail": "Content-Length is not a number of bytes.",
        }
    limit = body_limit(content_type)
    return (413, too_large_body(limit)) if length > limit else None


async def _send_problem(send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {}
        for name, value in scope.get("headers", ()):
            headers.setdefault(name.lower(), value)
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        length = headers.get(b"content-length")
        refusal = content_length_refusal(length.decode("latin-1") if length else None, content_type)
        if refusal is not None:
            return await _send_problem(send, *refusal)
        if length is not None:
            return await self.app(scope, receive, send)  # the server stops at the declared length
        limit = body_limit(content_type)
        state = {"received": 0, "over": False, "started": False}

        async def counted_receive():
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}  # Django stops reading (RequestAborted)
            return message

        async def tracked_send(message):
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
        if state["over"] and not state["started"]:
            await _send_problem(send, 413, too_large_body(limit))
