"""What every live subscriber of an org's events shares: the websocket consumer
(apps/events/consumers.py) and the SSE stream (apps/events/stream.py).

- `Subscription`: a channel on the channel layer joined to the org's group (re-joined hourly, so
  a connection open for days never outlives channels-redis' group expiry), read with retries.
  A dropped Redis connection (restart, failover, network) is retried with backoff instead of
  killing the subscriber; once the layer answers again the groups are joined again (a restarted
  Redis has forgotten them) and `receive()` returns `RESUMED`, so the subscriber can fill the
  gap from the event log.
- `Delivered`: the ids a subscriber already sent (duplicates skipped) and the replay start for
  a gap.
- `SendQueue`: a bounded, beacon-coalescing queue between the channel layer (and the ephemeral
  hub, apps/events/ephemeral.py) and a slow client; it holds envelopes or `Encoded` ones
  (JSON text made once per process), coalesced by `coalesce_key`.
- `reachable(name, ping, failure, what)`: one backoff probe per Redis connection kind and event
  loop, awaited by every subscriber that lost it (`layer_reachable` for the channel layer).
- `access_revoked(actor, envelope)`: does this `access.revoked` event end this subscriber's
  access (its API key or its membership)? Services publish it when a key is revoked or a
  membership is removed, deactivated or changes role; subscribers then close.
- `access_still_valid(actor)`: the same question asked of the database, after a gap in which
  an `access.revoked` event may have been lost."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import OrderedDict
from typing import NamedTuple

from channels.db import database_sync_to_async
from django.utils import timezone
from redis.exceptions import RedisError

from apps.events import conf
from apps.events.models import Event
from apps.orgs.models import Membership
from apps.orgs.tenancy import Actor

logger = logging.getLogger(__name__)

LAYER_ERRORS = (RedisError, OSError)
RESUMED_TYPE = "stream.resumed"
ACCESS_REVOKED = "access.revoked"
JOIN_ATTEMPTS = 3  # group_add tries before a subscriber is refused (1013 / the stream ends)
REPLAY_OVERLAP_MS = 5000  # events committed a little out of id order are not missed on a gap


class Subscription:
    def __init__(self, layer, channel: str):
        self.layer = layer
        self.channel = channel
        self.groups: list[str] = []
        self.outages = 0
        self.refresher: asyncio.Task | None = None

    async def join(self, group: str) -> None:
        # Right after a Redis restart a pooled connection from before it fails once (and is
        # dropped); a fresh one answers. Only a layer that stays unreachable refuses the join.
        for attempt in range(JOIN_ATTEMPTS):
            try:
                await self.layer.group_add(group, self.channel)
                break
            except LAYER_ERRORS:
                if attempt == JOIN_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        self.groups.append(group)
        expiry = getattr(self.layer, "group_expiry", None)
        if expiry and self.refresher is None:
            self.refresher = asyncio.ensure_future(self._refresh(min(3600.0, expiry / 4)))

    async def _refresh(self, every: float) -> None:
        # channels-redis forgets a group member after group_expiry (a day): a war-room screen
        # open for days would silently stop receiving. Re-join well before that.
        while True:
            await asyncio.sleep(every)
            try:
                for group in self.groups:
                    await self.layer.group_add(group, self.channel)
            except LAYER_ERRORS:
                pass  # an outage: the reader notices and re-joins when Redis is back

    async def leave(self) -> None:
        if self.refresher is not None:
            self.refresher.cancel()
            self.refresher = None
        for group in self.groups:
            try:
                await self.layer.group_discard(group, self.channel)
            except LAYER_ERRORS:
                logger.warning("could not leave %s; the group entry expires on its own", group)
        self.groups = []

    async def receive(self) -> dict:
        """The next message for this channel; after a channel-layer outage, `{"type": RESUMED_TYPE}`."""
        try:
            return await self.layer.receive(self.channel)
        except LAYER_ERRORS as exc:
            failure = exc
        await self._rejoin(failure)
        return {"type": RESUMED_TYPE}

    async def _rejoin(self, failure: Exception) -> None:
        started = time.monotonic()
        while True:
            await layer_reachable(self.layer, failure)
            try:
                for group in self.groups:
                    await self.layer.group_add(group, self.channel)
            except LAYER_ERRORS as exc:
                failure = exc
                continue
            self.outages += 1
            logger.info("channel layer subscription resumed after %.1f s", time.monotonic() - started)
            return


_probes: dict[tuple[object, int], asyncio.Task] = {}


async def layer_reachable(layer, failure: Exception) -> None:
    """Wait until the layer's Redis answers again. One probe per layer and event loop, shared
    by every subscriber of the process (a thousand sockets do not each hammer a dead Redis)."""
    await reachable(("layer", id(layer)), lambda: _ping_layer(layer), failure, "channel layer")


async def reachable(name, ping, failure: Exception, what: str) -> None:
    """Wait until `ping()` (a coroutine function) succeeds, retried with backoff; one probe
    per `name` and event loop, however many callers wait for it."""
    key = (name, id(asyncio.get_running_loop()))
    probe = _probes.get(key)
    if probe is None or probe.done():
        logger.warning("%s unreachable (%s: %s); retrying", what, type(failure).__name__, failure)
        probe = _probes[key] = asyncio.ensure_future(_probe(ping, what))
    await asyncio.shield(probe)


async def _ping_layer(layer) -> None:
    if hasattr(layer, "connection"):  # channels-redis: ping every shard
        for index in range(layer.ring_size):
            await layer.connection(index).ping()


async def _probe(ping, what: str) -> None:
    started = time.monotonic()
    delay = 0.05
    longest = conf.get("EVENTS_STREAM_BACKOFF_MAX_SECONDS")
    while True:
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        try:
            await ping()
        except LAYER_ERRORS:
            delay = min(delay * 2, longest)
            continue
        logger.warning("%s reachable again after %.1f s; subscribers re-join", what, time.monotonic() - started)
        return


class Delivered:
    """Ids already sent on one stream (bounded), and the newest, to replay a gap from."""

    def __init__(self, size: int = 2000):
        self.size = size
        self.ids: OrderedDict[str, None] = OrderedDict()
        self.newest: uuid.UUID | None = None
        self.started_ms = int(time.time() * 1000)

    def seen(self, event_id) -> bool:
        return event_id is not None and str(event_id) in self.ids

    def add(self, event_id) -> None:
        if event_id is None:
            return
        self.ids[str(event_id)] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        try:
            parsed = uuid.UUID(str(event_id))
        except ValueError:
            return
        if self.newest is None or parsed > self.newest:
            self.newest = parsed

    def gap_start(self) -> uuid.UUID | None:
        """Replay events from a little before the newest sent one (UUIDv7: ms in the top 48
        bits), or from the start of the stream when none was sent yet."""
        if self.newest is None:
            return uuid.UUID(int=self.started_ms << 80)
        ms = max((self.newest.int >> 80) - REPLAY_OVERLAP_MS, 0)
        return uuid.UUID(int=ms << 80)


class Encoded(NamedTuple):
    """An envelope already encoded as JSON text — once per process, however many of its
    subscribers send it (apps/events/ephemeral.py builds them)."""

    key: object  # `coalesce_key(envelope)`: None when it is not coalesced
    id: str | None
    text: str


COALESCED = ("signal.beacon",)


def coalesce_key(envelope: dict):
    """What a newer envelope replaces an older one by, in a subscriber's queue (latest wins):
    a responder's `signal.beacon` position; None for every other envelope."""
    if envelope.get("type") in COALESCED:
        data = envelope.get("data") or {}
        member = data.get("membership_id") or data.get("beacon_id")
        if member is not None:
            return (envelope["type"], str(member))
    return None


class SendQueue:
    """Events waiting for one slow client: bounded (past `size` the oldest are dropped and
    counted), and coalescing — a waiting `signal.beacon` of a responder is replaced in place by
    the newer one (latest wins), so a slow screen gets the newest position, not a backlog.
    Items are envelopes (dicts) or `Encoded` envelopes; `get()` returns them as they were put."""

    def __init__(self, size: int):
        self.size = max(int(size), 1)
        self.items: OrderedDict[object, dict | Encoded] = OrderedDict()
        self.ready = asyncio.Event()
        self.dropped = 0
        self.coalesced = 0

    def __len__(self) -> int:
        return len(self.items)

    @staticmethod
    def _key(item: dict | Encoded):
        key = item.key if isinstance(item, Encoded) else coalesce_key(item)
        return object() if key is None else key  # object(): never equal, not coalesced

    def put(self, item: dict | Encoded) -> None:
        key = self._key(item)
        if key in self.items:
            self.items[key] = item
            self.coalesced += 1
        else:
            self.items[key] = item
            if len(self.items) > self.size:
                self.items.popitem(last=False)
                self.dropped += 1
        self.ready.set()

    async def get(self) -> dict | Encoded:
        while not self.items:
            self.ready.clear()
            await self.ready.wait()
        return self.items.popitem(last=False)[1]


def events_after(org_id, org_slug: str, after: uuid.UUID, limit: int) -> list[dict]:
    events = Event.objects.filter(org_id=org_id, id__gt=after).order_by("id")[:limit]
    return [event.envelope(org_slug) for event in events]


aevents_after = database_sync_to_async(events_after)


def access_revoked(actor: Actor, envelope: dict | None) -> bool:
    if not envelope or envelope.get("type") != ACCESS_REVOKED:
        return False
    data = envelope.get("data") or {}
    if actor.api_key is not None and data.get("api_key_id") == str(actor.api_key.pk):
        return True
    return data.get("membership_id") is not None and data.get("membership_id") == str(actor.membership_id)


def access_still_valid(actor: Actor) -> bool:
    membership = Membership.objects.filter(
        pk=actor.membership_id, user_id=actor.user.pk, active=True, org__is_active=True, role=actor.role
    )
    if not membership.exists():
        return False
    key = actor.api_key
    if key is None:
        return True
    if key.expires_at is not None and key.expires_at <= timezone.now():
        return False
    # The key's own model (apps.accounts), read fresh: the cache may hold it for a while.
    return type(key)._default_manager.filter(pk=key.pk, revoked_at__isnull=True, user__is_active=True).exists()


aaccess_still_valid = database_sync_to_async(access_still_valid)
