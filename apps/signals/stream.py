"""GET /v1/signals/stream — the org's events as Server-Sent Events (EventSource compatible).

Authentication: a session cookie, or an API key (`Authorization: Bearer sk_live_…` or
`X-API-Key`). Org: the key's own org; for a session the `X-Org` header or `?org=<slug>`, else
the user's only org (ambiguous → 400, not a member → 404), answered as problem+json.

The stream carries every domain event of the org (not only signals), one frame each:
`id: <event id>` and `data: <envelope JSON>` with the envelope {id, type, org, ts, data}.
The first frame is `data: {"type":"connected"}`; a `: ping` comment keeps idle connections
open (every SIGNALS_SSE_PING_SECONDS, 25 s). A reconnecting client's `Last-Event-ID` header
(or `?last_event_id=`) first replays the persisted events newer than that id (UUIDv7 ids are
time-ordered), then streams live. Fan-out is the org's channel-layer group, so every server
process streams every event. Response headers: `Cache-Control: no-cache`,
`X-Accel-Buffering: no` (no proxy buffering).

This is a plain async Django view (DRF cannot stream asynchronously), so it is not in the
OpenAPI document; it is documented here and in the README."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import Gauge

from apps.accounts.authentication import presented_api_key
from apps.accounts.services import api_key_authenticate
from apps.events.models import Event
from apps.events.publish import org_group
from apps.signals import conf
from apps.signals.selectors import stream_actor
from schedkit.api.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE, Problem

logger = logging.getLogger(__name__)

SSE_CONNECTIONS = Gauge("sse_connections", "Open SSE streams", multiprocess_mode="livesum")
CONNECTED_FRAME = 'data: {"type":"connected"}\n\n'


def _problem(status: int, code: str, title: str, detail: str, headers: dict | None = None) -> JsonResponse:
    body = {"type": TYPE_BASE + code.lower().replace("_", "-"), "title": title, "status": status, "code": code}
    response = JsonResponse(body | {"detail": detail}, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def frame(envelope: dict) -> str:
    body = json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))
    event_id = envelope.get("id")
    return f"id: {event_id}\ndata: {body}\n\n" if event_id else f"data: {body}\n\n"


def _replay(org_id, org_slug: str, after: uuid.UUID, limit: int) -> list[dict]:
    events = Event.objects.filter(org_id=org_id, id__gt=after).order_by("id")[:limit]
    return [event.envelope(org_slug) for event in events]


async def _authenticate(request):
    raw = presented_api_key(request.headers)
    if raw is not None:
        key = await sync_to_async(api_key_authenticate)(raw)
        if key is None:
            raise Problem(401, "AUTHENTICATION_FAILED", "Authentication failed", "Invalid, revoked or expired API key.")
        return key.user, key
    user = await request.auser()
    if not user.is_authenticated:
        raise Problem(401, "NOT_AUTHENTICATED", "Authentication required", "Sign in or send an API key.")
    return user, None


def _last_event_id(request) -> uuid.UUID | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    if not raw:
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise Problem(400, "INVALID_LAST_EVENT_ID", "Invalid Last-Event-ID", "Last-Event-ID is an event id.") from None


@require_GET
async def signal_stream(request):
    try:
        user, api_key = await _authenticate(request)
        slug = request.headers.get("X-Org") or request.GET.get("org") or None
        actor = await sync_to_async(stream_actor)(user=user, api_key=api_key, slug=slug)
        last_event_id = _last_event_id(request)
    except Problem as problem:
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if problem.status_code == 401 else None
        return _problem(problem.status_code, problem.code, problem.title, str(problem.detail), headers)
    response = StreamingHttpResponse(
        _events(actor.org_id, actor.org.slug, last_event_id), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _events(org_id, org_slug: str, last_event_id: uuid.UUID | None):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = org_group(org_id)
    await layer.group_add(group, channel)
    queue: asyncio.Queue = asyncio.Queue(maxsize=1000)

    async def pump():
        # Read the channel in its own task: cancelling a queue read is safe, a channel read
        # half-way through is not.
        while True:
            message = await layer.receive(channel)
            if queue.full():
                queue.get_nowait()  # a stalled client loses the oldest live events, never blocks
            queue.put_nowait(message.get("event"))

    reader = asyncio.ensure_future(pump())
    SSE_CONNECTIONS.inc()
    try:
        yield CONNECTED_FRAME
        replayed: set[str] = set()
        if last_event_id is not None:
            limit = conf.get("SIGNALS_SSE_REPLAY_LIMIT")
            for envelope in await sync_to_async(_replay)(org_id, org_slug, last_event_id, limit):
                replayed.add(envelope["id"])
                yield frame(envelope)
        interval = conf.sse_ping_seconds()
        while True:
            try:
                envelope = await asyncio.wait_for(queue.get(), timeout=interval)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if not envelope or envelope.get("id") in replayed:
                continue
            yield frame(envelope)
    finally:
        SSE_CONNECTIONS.dec()
        reader.cancel()
        try:
            await layer.group_discard(group, channel)
        except Exception:  # noqa: BLE001 - the group entry expires on its own
            logger.warning("could not leave %s on SSE disconnect", group)
