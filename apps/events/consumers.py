"""The org's live event stream over a websocket: /ws/orgs/{slug}/.

The consumer authenticates (session cookie or API key, put in the scope by
apps/accounts/ws_auth.py), resolves the org like the REST API (apps/orgs/tenancy.actor_for;
a refused handshake is 403), joins the org's channel-layer group and forwards every event of
the org, so every server process delivers every event of the orgs its clients belong to.
Live beacon positions (`signal.beacon`, not persisted) come instead through the process's
ephemeral hub (apps/events/ephemeral.py: one Redis PUBLISH per ping, one subscription per org
and process, latest wins), already encoded: every socket sends the same text.

Staying up: a dropped Redis connection is retried (apps/events/live.Subscription); after the
outage the consumer re-checks the caller's access and sends the persisted events it missed
(deduplicated), so a client sees no gap except unpersisted beacon positions. Events wait for a
slow client in a bounded queue (EVENTS_WS_QUEUE_SIZE; the oldest go first) where a
responder's beacon positions are coalesced: a waiting `signal.beacon` is replaced by the
newer one, so a slow screen gets the newest position rather than a backlog. The hub retries
its own dropped connection and subscribes again; positions published meanwhile are lost.

A reconnecting client may send `?last_event_id=<id>` (the `id` of the last event it got): the
persisted events after it are sent first, as the SSE stream does for `Last-Event-ID`.

Access that ends: an `access.revoked` event naming this socket's API key or membership closes
it with code 4401 after sending that event (the client may reconnect; a revoked key is then
refused).

Clients send `{"type": "ping"}` (→ `pong`) and the message types other apps register
(apps/events/ws_handlers.py; apps/signals: `beacon`, `beacon.stop`). Anything else, or a frame
that is not a JSON object, is answered with `{"type": "error", "code": "UNSUPPORTED_MESSAGE"}`."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.core.exceptions import ValidationError

from apps.events import conf, ephemeral
from apps.events.live import (
    LAYER_ERRORS,
    Delivered,
    Encoded,
    SendQueue,
    Subscription,
    aaccess_still_valid,
    access_revoked,
    aevents_after,
)
from apps.events.publish import org_group
from apps.events.ws_handlers import ws_handler, ws_message_types
from apps.orgs.tenancy import actor_for
from schedkit.api.problems import Problem
from schedkit.ops import metrics

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403  # before accept: the handshake is refused (HTTP 403)
CLOSE_ACCESS_REVOKED = 4401
CLOSE_TRY_AGAIN = 1013  # the channel layer is unreachable at connect: reconnect later


@database_sync_to_async
def _actor(user, api_key, slug):
    try:
        return actor_for(user=user, api_key=api_key, slug=slug)
    except Problem:
        return None


@database_sync_to_async
def _handle(handler, actor, content):
    return handler(actor, content)


def _last_event_id(scope) -> uuid.UUID | None:
    raw = (parse_qs(scope.get("query_string", b"").decode("latin1")).get("last_event_id") or [""])[0]
    try:
        return uuid.UUID(raw.strip()) if raw else None
    except ValueError:
        return None  # not an event id: nothing to replay


def _validation_detail(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


class OrgEventsConsumer(AsyncJsonWebsocketConsumer):
    actor = None
    subscription = None
    sender = None

    async def __call__(self, scope, receive, send):
        # AsyncConsumer.__call__, reading the channel layer through a Subscription (retried
        # reads, groups re-joined after an outage) instead of the bare layer.receive.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.subscription = Subscription(self.channel_layer, self.channel_name)
        self.channel_receive = self.subscription.receive
        self.base_send = send
        self.delivered = Delivered()
        self.queue = SendQueue(conf.get("EVENTS_WS_QUEUE_SIZE"))
        try:
            await await_many_dispatch([receive, self.channel_receive], self.dispatch)
        except StopConsumer:
            pass
        finally:
            if self.sender is not None:
                self.sender.cancel()
            if self.subscription.refresher is not None:
                self.subscription.refresher.cancel()
            if self.actor is not None:  # ended without a disconnect (a crash): leave the hub too
                await ephemeral.unsubscribe(self.actor.org_id, self.queue.put)

    async def dispatch(self, message):
        # channels' dispatch first hops to the sync thread to close stale database
        # connections, for every message: every event on every socket queued behind the
        # beacon handlers on the one thread-sensitive thread of the process (30 hops per ping
        # with 30 sockets). This consumer touches the database only through
        # database_sync_to_async, which closes them around each call itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["org_slug"]
        actor = await _actor(self.scope.get("user"), self.scope.get("api_key"), slug)
        if actor is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        try:
            await self.subscription.join(org_group(actor.org_id))
        except LAYER_ERRORS as exc:
            logger.warning("websocket refused: channel layer unreachable (%s)", type(exc).__name__)
            await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.actor = actor
        await ephemeral.subscribe(actor.org_id, self.queue.put)
        await self.accept()
        metrics.WS_CONNECTIONS.inc()
        await self.send_json({"type": "connected", "org": slug})
        after = _last_event_id(self.scope)
        if after is not None:  # a reconnecting client: first what it missed
            limit = conf.get("EVENTS_STREAM_REPLAY_LIMIT")
            for envelope in await aevents_after(actor.org_id, actor.org.slug, after, limit):
                self.delivered.add(envelope["id"])
                self.queue.put(envelope)
        self.sender = asyncio.ensure_future(self._send_queued())

    async def disconnect(self, code):
        if self.sender is not None:
            self.sender.cancel()
        if self.actor is not None:
            await self._leave()

    async def _leave(self):
        await ephemeral.unsubscribe(self.actor.org_id, self.queue.put)
        await self.subscription.leave()
        metrics.WS_CONNECTIONS.dec()
        self.actor = None

    async def _send_queued(self):
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, Encoded):  # encoded once for every socket of the process
                    await self.send(text_data=item.text)
                else:
                    await self.send_json(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the client went away mid-send; disconnect follows
            logger.info("websocket send stopped: %s", type(exc).__name__)

    # -- from the client ------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if self.actor is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        handler = ws_handler(kind)
        if handler is None:
            accepted = ", ".join(f'{{"type": "{name}"}}' for name in ["ping", *ws_message_types()])
            await self._error(content, "UNSUPPORTED_MESSAGE", f"This socket accepts {accepted}.")
            return
        try:
            if asyncio.iscoroutinefunction(handler):
                reply = await handler(self.actor, content)
            else:
                reply = await _handle(handler, self.actor, content)
        except ValidationError as exc:
            await self._error(content, "VALIDATION_ERROR", _validation_detail(exc))
            return
        except Problem as exc:
            await self._error(content, exc.code, str(exc.detail))
            return
        await self.send_json(reply)

    async def _error(self, content, code, detail):
        ref = content.get("ref") if isinstance(content, dict) else None
        await self.send_json({"type": "error", "ref": ref, "code": code, "detail": detail})

    # -- from the channel layer -----------------------------------------------------------

    async def event_message(self, message):
        envelope = message.get("event")
        if not envelope or self.actor is None or self.delivered.seen(envelope.get("id")):
            return
        self.delivered.add(envelope.get("id"))
        if access_revoked(self.actor, envelope):
            await self._close_revoked(envelope)
            return
        self.queue.put(envelope)

    async def stream_resumed(self, message):
        """After a channel-layer outage: still allowed? then send what was missed."""
        if self.actor is None:
            return
        if not await aaccess_still_valid(self.actor):
            await self._close_revoked(None)
            return
        start = self.delivered.gap_start()
        limit = conf.get("EVENTS_STREAM_REPLAY_LIMIT")
        for envelope in await aevents_after(self.actor.org_id, self.actor.org.slug, start, limit):
            if not self.delivered.seen(envelope["id"]):
                self.delivered.add(envelope["id"])
                self.queue.put(envelope)

    async def _close_revoked(self, envelope):
        if self.sender is not None:
            self.sender.cancel()
        if envelope is not None:
            await self.send_json(envelope)
        await self._leave()
        await self.close(code=CLOSE_ACCESS_REVOKED)
