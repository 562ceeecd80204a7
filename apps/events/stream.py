"""GET /v1/events/stream (and, as documented first, /v1/signals/stream) — the org's events as
Server-Sent Events (EventSource compatible), the twin of the websocket in consumers.py.

Authentication: a session cookie, or an API key (`Authorization: Bearer sk_live_…` or
`X-API-Key`). Org: resolved like the REST API (apps/orgs/tenancy.actor_for): the key's own
org; for a session the `X-Org` header or `?org=<slug>`, else the user's only org (ambiguous →
400, not a member → 404), answered as problem+json.

The stream carries every domain event of the org, one frame each: `id: <event id>` and
`data: <envelope JSON>` with the envelope {id, type, org, ts, data}. The first frame is
`retry: <ms>` (EVENTS_SSE_RETRY_MS, 3000) with `data: {"type":"connected"}`; a `: ping`
comment keeps an idle connection open (every EVENTS_SSE_PING_SECONDS, 25 s). A reconnecting
client's `Last-Event-ID` header (or `?last_event_id=`) first replays the persisted events
newer than that id (UUIDv7 ids are time-ordered), then streams live. Fan-out is the org's
channel-layer group, so every server process streams every event; live beacon positions
(`signal.beacon`, not persisted) come through the process's ephemeral hub instead
(apps/events/ephemeral.py), as on the websocket. Events wait for a slow client in the same
bounded, beacon-coalescing queue as the websocket's (apps/events/live.SendQueue).

Staying up: a dropped Redis connection is retried (apps/events/live.Subscription) and the
persisted events of the gap are sent once it is back; if the channel layer is unreachable
when the stream starts, the stream ends at once after its `retry:` frame and the client
reconnects. An `access.revoked` event naming the caller's API key or membership is sent and
the stream ends (the EventSource's reconnect is then refused with 401/404).

Response headers: `Cache-Control: no-cache`, `X-Accel-Buffering: no` (no proxy buffering).
This is a plain async Django view (DRF cannot stream asynchronously); apps/events/openapi.py
documents it in the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import Gauge

from apps.accounts.authentication import presented_api_key
from apps.accounts.services import api_key_authenticate
from apps.events import conf, ephemeral
from apps.events.live import (
    LAYER_ERRORS,
    RESUMED_TYPE,
    Delivered,
    Encoded,
    SendQueue,
    Subscription,
    aaccess_still_valid,
    access_revoked,
    aevents_after,
)
from apps.events.publish import org_group
from apps.orgs.tenancy import Actor, actor_for
from schedkit.api.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE, Problem

logger = logging.getLogger(__name__)

SSE_CONNECTIONS = Gauge("sse_connections", "Open SSE streams", multiprocess_mode="livesum")
CONNECTED_DATA = 'data: {"type":"connected"}\n\n'
PING_FRAME = ": ping\n\n"


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


def _resolve(raw_key: str | None, user, slug: str | None) -> Actor:
    api_key = None
    if raw_key is not None:
        api_key = api_key_authenticate(raw_key)
        if api_key is None:
            raise Problem(401, "AUTHENTICATION_FAILED", "Authentication failed", "Invalid, revoked or expired API key.")
        user = api_key.user
    return actor_for(user=user, api_key=api_key, slug=slug)


def _last_event_id(request) -> uuid.UUID | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    if not raw:
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise Problem(400, "INVALID_LAST_EVENT_ID", "Invalid Last-Event-ID", "Last-Event-ID is an event id.") from None


@require_GET
async def event_stream(request):
    try:
        raw_key = presented_api_key(request.headers)
        user = None if raw_key is not None else await request.auser()
        slug = request.headers.get("X-Org") or request.GET.get("org") or None
        actor = await database_sync_to_async(_resolve)(raw_key, user, slug)
        last_event_id = _last_event_id(request)
    except Problem as problem:
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if problem.status_code == 401 else None
        return _problem(problem.status_code, problem.code, problem.title, str(problem.detail), headers)
    response = StreamingHttpResponse(_events(actor, last_event_id), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _events(actor: Actor, last_event_id: uuid.UUID | None):
    layer = get_channel_layer()
    subscription = Subscription(layer, await layer.new_channel())
    first = f"retry: {conf.get('EVENTS_SSE_RETRY_MS')}\n"
    try:
        await subscription.join(org_group(actor.org_id))
    except LAYER_ERRORS as exc:
        logger.warning("SSE stream ended at once: channel layer unreachable (%s)", type(exc).__name__)
        yield first + ": unavailable\n\n"
        return
    # A stalled client loses the oldest live events (and older positions), never blocks.
    queue = SendQueue(conf.get("EVENTS_WS_QUEUE_SIZE"))

    async def pump():
        # Read the channel in its own task: cancelling a queue read is safe, a channel read
        # half-way through is not.
        while True:
            message = await subscription.receive()
            if message.get("type") == RESUMED_TYPE:
                queue.put(message)
            elif message.get("event"):
                queue.put(message["event"])

    reader = asyncio.ensure_future(pump())
    SSE_CONNECTIONS.inc()
    delivered = Delivered()
    limit = conf.get("EVENTS_STREAM_REPLAY_LIMIT")
    try:
        await ephemeral.subscribe(actor.org_id, queue.put)
        yield first + CONNECTED_DATA
        if last_event_id is not None:
            for envelope in await aevents_after(actor.org_id, actor.org.slug, last_event_id, limit):
                delivered.add(envelope["id"])
                yield frame(envelope)
        interval = conf.get("EVENTS_SSE_PING_SECONDS")
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=interval)
            except TimeoutError:
                if reader.done():  # the reader failed in a way no retry covers: end, the client reconnects
                    logger.warning("SSE stream ended: its channel reader stopped (%r)", reader.exception())
                    return
                yield PING_FRAME
                continue
            if isinstance(item, Encoded):  # a live position, encoded once for the process
                yield f"id: {item.id}\ndata: {item.text}\n\n" if item.id else f"data: {item.text}\n\n"
                continue
            if item.get("type") == RESUMED_TYPE:
                if not await aaccess_still_valid(actor):
                    return
                for envelope in await aevents_after(actor.org_id, actor.org.slug, delivered.gap_start(), limit):
                    if not delivered.seen(envelope["id"]):
                        delivered.add(envelope["id"])
                        yield frame(envelope)
                continue
            envelope = item
            if delivered.seen(envelope.get("id")):
                continue
            delivered.add(envelope.get("id"))
            yield frame(envelope)
            if access_revoked(actor, envelope):
                return
    finally:
        SSE_CONNECTIONS.dec()
        reader.cancel()
        await ephemeral.unsubscribe(actor.org_id, queue.put)
        await subscription.leave()
