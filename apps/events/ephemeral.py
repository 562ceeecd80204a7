"""Ephemeral org envelopes where only the newest of each kind matters (live positions:
`signal.beacon`): one Redis PUBLISH per envelope, one pub/sub subscription per org and
process, encoded to JSON once.

Persisted events reach live subscribers through the channel layer (apps/events/live.py:
`Subscription` on RedisLayer, with gap replay after an outage). Positions are different: one
per ping, never persisted, and a newer one makes the older worthless. Through channels-redis
every socket's copy was its own list entry (30 per ping with 30 sockets), and a full list
drops the newest message — the opposite of latest wins (bench/README.md "Websocket fan-out").

- `publish(org_id, envelope)` (from a thread) / `apublish(org_id, envelope)` (from an event
  loop): the envelope encoded once and PUBLISHed once on `<layer prefix>:ephemeral.<org hex>`,
  on the channel layer's (first) Redis host. Best effort, like `apps.events.publish.broadcast`:
  a failure is counted (`event_broadcast_failures_total`) and logged, never raised.
- `subscribe(org_id, deliver)` / `unsubscribe(org_id, deliver)`: a local subscriber (the
  websocket consumer's and the SSE stream's `SendQueue.put`). The process's hub (one per event
  loop) subscribes the org's channel when the first local subscriber of the org joins and
  unsubscribes when the last leaves. Its one reader takes whatever has arrived, keeps the
  latest per responder of that batch (`live.coalesce_key`: latest wins in the process) and hands
  each as `live.Encoded` (the text as published) to every local subscriber of the org, whose
  queue coalesces again while its client is slow. Every socket sends that same text.
- Outage: a dropped connection is retried with backoff (one probe per loop: `live.reachable`),
  then every org channel is subscribed again; nothing is replayed (positions are ephemeral).
  The latest positions stay in the cache (`apps.signals.services.live_key`), read by the live
  map page and dispatch ranking, so a client that must know them can reload them.
- Without a Redis channel layer (the embedded default's in-memory layer, one process) the
  envelope goes to the org's channel-layer group (`apps.events.publish`), as every event does.

Redis pub/sub channels are not scoped by database number: the layer's prefix and the org id
keep deployments sharing one Redis apart."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable

import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from redis import asyncio as aioredis

from apps.events.live import LAYER_ERRORS, Encoded, coalesce_key, reachable
from apps.events.publish import abroadcast, broadcast, org_group
from schedkit.ops import metrics

logger = logging.getLogger(__name__)

BATCH = 500  # messages taken from the connection before handing them out (and yielding the loop)
CONFIRM_SECONDS = 2.0  # how long a first subscriber waits for Redis to confirm the subscription
Deliver = Callable[[Encoded], None]


def encode(envelope: dict) -> str:
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))


def _target() -> tuple[str, dict, str] | None:
    """(url, connection options, prefix) of the channel layer's Redis, or None without one."""
    config = (settings.CHANNEL_LAYERS.get("default") or {}).get("CONFIG") or {}
    hosts = config.get("hosts") or []
    if not hosts:
        return None
    host = hosts[0]
    if isinstance(host, str):
        return host, {}, config.get("prefix", "asgi")
    if not isinstance(host, dict) or "address" not in host:
        return None  # sentinel hosts: not supported here; the group path below serves them
    options = {k: v for k, v in host.items() if k != "address"}
    return host["address"], options, config.get("prefix", "asgi")


def channel_name(prefix: str, org_id) -> str:
    return f"{prefix}:ephemeral.{org_group(org_id).removeprefix('org.')}"


_warned = [0.0]


def _failed(envelope: dict, org_id, exc: Exception) -> bool:
    metrics.EVENT_BROADCAST_FAILURES.inc()
    now = time.monotonic()
    if now - _warned[0] > 5:  # at most one line per 5 s: a ping flood during an outage
        _warned[0] = now
        logger.warning("publish of %s to org %s failed: %s: %s", envelope.get("type"), org_id, type(exc).__name__, exc)
    return False


_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _client(url: str, options: dict) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url) or redis.Redis.from_url(url, **options)
            _clients[url] = client
    return client


def publish(org_id, envelope: dict) -> bool:
    """Send an ephemeral envelope to the org's live subscribers (from a thread)."""
    target = _target()
    if target is None:
        return broadcast(org_id, envelope)
    url, options, prefix = target
    try:
        _client(url, options).publish(channel_name(prefix, org_id), encode(envelope))
        return True
    except Exception as exc:  # noqa: BLE001 - real time is best effort
        return _failed(envelope, org_id, exc)


async def apublish(org_id, envelope: dict) -> bool:
    """`publish` from an event loop."""
    local = hub()
    if local is None:
        return await abroadcast(org_id, envelope)
    try:
        await local.client.publish(local.channel(org_id), encode(envelope))
        return True
    except Exception as exc:  # noqa: BLE001 - real time is best effort
        return _failed(envelope, org_id, exc)


async def subscribe(org_id, deliver: Deliver) -> None:
    local = hub()
    if local is not None:
        await local.join(org_id, deliver)


async def unsubscribe(org_id, deliver: Deliver) -> None:
    local = hub()
    if local is not None:
        await local.leave(org_id, deliver)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub | None:
    """This event loop's hub (redis.asyncio connections belong to one loop), or None without Redis."""
    loop = asyncio.get_running_loop()
    local = _hubs.get(loop)
    if local is None:
        target = _target()
        if target is None:
            return None
        local = _hubs[loop] = Hub(*target)
    return local


class Hub:
    def __init__(self, url: str, options: dict, prefix: str):
        self.client = aioredis.Redis.from_url(url, **options)
        self.prefix = prefix
        timeout = options.get("socket_timeout")
        self.poll = min(5.0, float(timeout) / 3) if timeout else 5.0  # a read ends before the socket's timeout
        self.subscribers: dict[str, set[Deliver]] = {}
        self.confirmed: dict[str, asyncio.Future] = {}
        self.pubsub = None
        self.reader: asyncio.Task | None = None
        self.outages = 0
        self.received = 0

    def channel(self, org_id) -> str:
        return channel_name(self.prefix, org_id)

    async def join(self, org_id, deliver: Deliver) -> None:
        channel = self.channel(org_id)
        first = channel not in self.subscribers
        self.subscribers.setdefault(channel, set()).add(deliver)
        if not first:
            return
        confirmed = self.confirmed.setdefault(channel, asyncio.get_running_loop().create_future())
        if self.reader is None or self.reader.done():
            self.reader = asyncio.ensure_future(self._read())  # it subscribes every org channel
        elif self.pubsub is not None:
            try:
                await self.pubsub.subscribe(channel)
            except LAYER_ERRORS:
                return  # the reader notices the outage and subscribes again once Redis is back
        # Wait for Redis to confirm, so a position published right after is not missed.
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_SECONDS)
        except TimeoutError:
            logger.info("ephemeral subscription to %s not confirmed yet", channel)

    async def leave(self, org_id, deliver: Deliver) -> None:
        channel = self.channel(org_id)
        local = self.subscribers.get(channel)
        if local is None or deliver not in local:
            return
        local.discard(deliver)
        if local:
            return
        del self.subscribers[channel]
        self.confirmed.pop(channel, None)
        if not self.subscribers:  # the last local subscriber: no reader, no connection
            reader, self.reader = self.reader, None
            if reader is not None:
                reader.cancel()
            await self._drop()
        elif self.pubsub is not None:
            try:
                await self.pubsub.unsubscribe(channel)
            except LAYER_ERRORS:
                pass  # a dropped connection: the reader subscribes only the channels still wanted

    async def _drop(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is gone either way
                pass

    async def _read(self) -> None:
        while self.subscribers:
            batch: dict[tuple, Encoded] = {}
            try:
                if self.pubsub is None:
                    self.pubsub = self.client.pubsub()
                    await self.pubsub.subscribe(*self.subscribers)
                message = await self.pubsub.get_message(timeout=self.poll)
                taken = 0
                while message is not None:
                    self._take(message, batch)
                    taken += 1
                    if taken >= BATCH:
                        break
                    message = await self.pubsub.get_message(timeout=0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a dropped connection (or a broken reply): reconnect
                self._deliver(batch)
                if not isinstance(exc, LAYER_ERRORS):
                    logger.exception("ephemeral hub read failed; reconnecting")
                await self._drop()
                await reachable(("ephemeral", id(self)), self.client.ping, exc, "ephemeral hub Redis")
                self.outages += 1
                continue
            self._deliver(batch)
            if taken >= BATCH:
                await asyncio.sleep(0)  # a flood: let the sockets send before reading more

    def _take(self, message: dict, batch: dict) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if kind == "subscribe":
            confirmed = self.confirmed.pop(channel, None)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            return
        if kind != "message" or channel not in self.subscribers:
            return
        data = message["data"]
        text = data.decode() if isinstance(data, bytes) else data
        try:
            envelope = json.loads(text)
        except ValueError:
            logger.warning("ephemeral message on %s is not JSON; skipped", channel)
            return
        self.received += 1
        key = coalesce_key(envelope)
        item = Encoded(key, envelope.get("id"), text)
        slot = (channel, key if key is not None else object())
        batch.pop(slot, None)  # latest wins, and goes after what came before it
        batch[slot] = item

    def _deliver(self, batch: dict) -> None:
        for (channel, _key), item in batch.items():
            for deliver in tuple(self.subscribers.get(channel, ())):
                try:
                    deliver(item)
                except Exception:  # noqa: BLE001 - one subscriber's failure is not the others'
                    logger.exception("ephemeral delivery to a subscriber failed")
