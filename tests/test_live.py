"""The pieces the live streams share (apps/events/live.py, layers.py, ws_handlers.py), and the
dependency rule that keeps apps/events below the apps that use it."""

import ast
import asyncio
import uuid
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured

from apps.events import live
from apps.events.layers import RedisLayer
from apps.events.live import Delivered, SendQueue, access_revoked
from apps.events.ws_handlers import register_ws_handler, ws_handler, ws_message_types
from apps.orgs.tenancy import Actor
from schedkit.ids import uuid7
from tests.test_stream_resilience import own_redis

ROOT = Path(__file__).resolve().parent.parent


def test_apps_events_imports_no_app_that_uses_it():
    """Delivery handlers and websocket messages are registered by the apps that own them."""
    allowed = ("apps.events", "apps.orgs", "apps.accounts")
    for path in sorted((ROOT / "apps" / "events").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("apps."):
                    assert name.startswith(allowed), f"{path.relative_to(ROOT)} imports {name}"


def test_the_blocking_read_always_ends_before_the_socket_timeout():
    host = {"address": "redis://127.0.0.1:6379/0"}
    assert RedisLayer(hosts=[host]).brpop_timeout == 5  # no socket timeout: channels-redis' 5 s
    assert RedisLayer(hosts=[{**host, "socket_timeout": 15}]).brpop_timeout == 5
    assert RedisLayer(hosts=[{**host, "socket_timeout": 3}]).brpop_timeout == 1
    assert RedisLayer(hosts=[{**host, "socket_timeout": 3}], blocking_timeout=2).brpop_timeout == 2
    with pytest.raises(ImproperlyConfigured):
        RedisLayer(hosts=[{**host, "socket_timeout": 5}], blocking_timeout=5)


def test_the_production_channel_layer_settings(settings):
    if not settings.REDIS_URL:
        pytest.skip("the Redis topology only")
    layer = settings.CHANNEL_LAYERS["default"]
    assert layer["BACKEND"] == "apps.events.layers.RedisLayer"
    (host,) = layer["CONFIG"]["hosts"]
    assert host["socket_timeout"] >= 3 * 5 and host["socket_keepalive"] is True and host["health_check_interval"]


def beacon(member, lat):
    return {"id": str(uuid7()), "type": "signal.beacon", "data": {"membership_id": member, "lat": lat}}


def test_a_slow_socket_gets_the_newest_beacon_position_not_a_backlog():
    queue = SendQueue(size=100)
    queue.put({"id": "1", "type": "incident.created", "data": {}})
    for i in range(500):
        queue.put(beacon("a", i))
        queue.put(beacon("b", -i))
    queue.put({"id": "2", "type": "incident.updated", "data": {}})
    assert len(queue) == 4 and queue.dropped == 0 and queue.coalesced == 998

    async def drain():
        return [await queue.get() for _ in range(len(queue))]

    sent = asyncio.run(drain())
    assert [e["type"] for e in sent] == ["incident.created", "signal.beacon", "signal.beacon", "incident.updated"]
    assert [e["data"]["lat"] for e in sent[1:3]] == [499, -499]  # latest wins, in first-seen order


def test_the_send_queue_is_bounded_dropping_the_oldest():
    queue = SendQueue(size=3)
    for n in range(10):
        queue.put({"id": str(n), "type": "test.flood", "data": {}})
    assert len(queue) == 3 and queue.dropped == 7

    async def drain():
        return [(await queue.get())["id"] for _ in range(3)]

    assert asyncio.run(drain()) == ["7", "8", "9"]


def test_delivered_dedupes_and_replays_a_gap_from_a_little_before_the_newest():
    delivered = Delivered(size=3)
    first, second = uuid7(), uuid7()
    delivered.add(second)
    delivered.add(first)  # out of order: the newest stays the newest
    assert delivered.seen(first) and delivered.seen(str(second)) and not delivered.seen(uuid7())
    start = delivered.gap_start()
    assert start < first and (second.int >> 80) - (start.int >> 80) == 5000
    for _ in range(3):
        delivered.add(uuid7())
    assert not delivered.seen(first)  # bounded

    fresh = Delivered()
    assert fresh.gap_start() <= uuid7()  # nothing sent yet: from the start of the stream


def test_access_revoked_names_a_key_or_a_membership():
    key = type("Key", (), {"pk": uuid.uuid4()})()
    membership_id = uuid.uuid4()
    by_key = Actor(user=None, membership_id=membership_id, api_key=key)
    by_session = Actor(user=None, membership_id=membership_id)

    def event(**data):
        return {"type": "access.revoked", "data": {"api_key_id": None, "membership_id": None, **data}}

    assert access_revoked(by_key, event(api_key_id=str(key.pk)))
    assert not access_revoked(by_session, event(api_key_id=str(key.pk)))
    assert access_revoked(by_key, event(membership_id=str(membership_id)))
    assert access_revoked(by_session, event(membership_id=str(membership_id)))
    assert not access_revoked(by_session, event(membership_id=str(uuid.uuid4())))
    assert not access_revoked(by_session, {"type": "member.removed", "data": {"id": str(membership_id)}})


def test_websocket_message_handlers_are_a_registry():
    assert {"beacon", "beacon.stop"} <= set(ws_message_types())  # registered by apps.signals
    assert ws_handler("nope") is None and ws_handler(None) is None and ws_handler(["beacon"]) is None
    with pytest.raises(ValueError):
        register_ws_handler("beacon")(lambda actor, message: {})


@pytest.mark.parametrize("attempts", [live.JOIN_ATTEMPTS, 1])
def test_a_join_right_after_a_redis_restart_is_not_refused(attempts, monkeypatch, tmp_path):
    """A pooled connection from before the restart fails once; the join tries again on a fresh
    one. With one attempt (the old code) the stale connection refuses the subscriber."""
    monkeypatch.setattr(live, "JOIN_ATTEMPTS", attempts)
    with own_redis(tmp_path) as own:
        layer = RedisLayer(hosts=[{"address": own.url, "socket_timeout": 3}])

        async def scenario():
            await layer.group_add("org.restart", "before!one")  # a pooled connection, idle from now on
            own.stop()
            await asyncio.to_thread(own.start)
            joined = live.Subscription(layer, await layer.new_channel())
            try:
                await joined.join("org.restart")
                return True
            except live.LAYER_ERRORS:
                return False
            finally:
                await layer.flush()

        assert async_to_sync(scenario)() is (attempts > 1)
