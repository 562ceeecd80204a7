"""Live streams that survive idleness and Redis hiccups (issue 9), on real uvicorn processes
and Redis: a websocket and an SSE stream left idle for twice the channel layer's Redis socket
timeout still receive the next event; a Redis restarted under open streams (our own
redis-server on a free port, never the shared one) is reconnected to, the events of the
outage arrive, a client that reconnects with Last-Event-ID (SSE) or ?last_event_id= (websocket)
misses nothing; the server
log stays free of tracebacks. Durations are printed (run with -s) for the notes, not asserted."""

import asyncio
import json
import shutil
import subprocess
import time
from contextlib import contextmanager

import httpx
import pytest
import redis
import websockets
from asgiref.sync import async_to_sync

from apps.events.publish import publish_on_commit
from tests.conftest import key_client
from tests.servers import asgi_server, free_port, server_env
from tests.streams import SSE, in_thread, next_of, sse_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

CRASH_MARKERS = ("Traceback", "Exception in ASGI application")


def crashes(server) -> list[str]:
    return [line for line in server.output if any(marker in line for marker in CRASH_MARKERS)]


def layer_failures(server) -> list[str]:
    """Idle is not an outage: the channel layer's read must never have failed (a retried
    failure would hide the socket-timeout fault while delaying events)."""
    return [line for line in server.output if "channel layer unreachable" in line]


@contextmanager
def own_redis(tmp_path, port: int | None = None):
    """A throwaway redis-server (no persistence) on a free port; yields it with .port and
    .url, and `stop()`/`start()` to restart it on the same port."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for the Redis restart test (apt-get install redis-server)")

    class Instance:
        def __init__(self):
            self.port = port or free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
            self.proc = None

        def start(self):
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            client = redis.Redis.from_url(self.url)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

        def stop(self):
            self.proc.kill()  # as a crash would: no goodbye to the clients
            self.proc.wait(timeout=10)

    instance = Instance()
    instance.start()
    try:
        yield instance
    finally:
        if instance.proc.poll() is None:
            instance.proc.terminate()
            instance.proc.wait(timeout=10)


def _idle_then_event(server, org, raw, idle: float):
    async def scenario():
        async with (
            httpx.AsyncClient() as http,
            sse_stream(http, server.base_url, raw) as response,
            websockets.connect(
                f"{server.ws_url}/ws/orgs/{org.slug}/", additional_headers={"Authorization": f"Bearer {raw}"}
            ) as ws,
        ):
            sse = SSE(response)
            assert (await sse.event())["json"] == {"type": "connected"}
            await next_of(ws, "connected")
            started = time.monotonic()
            await asyncio.sleep(idle)
            event = await in_thread(publish_on_commit, org=org, type="test.after_idle", data={"idle": idle})
            assert (await sse.event(timeout=10))["id"] == str(event.pk)
            assert (await next_of(ws, "test.after_idle", timeout=10))["id"] == str(event.pk)
            print(f"\nidle {time.monotonic() - started:.1f} s on a websocket and an SSE stream, then the event arrived")

    async_to_sync(scenario)()


def test_idle_twice_a_small_redis_socket_timeout_then_an_event_arrives(org, make_member):
    """Socket timeout 3 s (the layer's blocking read becomes 1 s); idle 12 s."""
    raw = key_client(make_member(org)).raw_key
    with asgi_server(server_env(CHANNEL_REDIS_SOCKET_TIMEOUT=3)) as server:
        _idle_then_event(server, org, raw, idle=12)
        assert crashes(server) == [] and layer_failures(server) == []


def test_idle_over_thirty_seconds_at_the_default_settings_then_an_event_arrives(org, make_member):
    """Default socket timeout (15 s) and SSE keepalive (25 s); idle 32 s."""
    raw = key_client(make_member(org)).raw_key
    with asgi_server(server_env()) as server:
        _idle_then_event(server, org, raw, idle=32)
        assert crashes(server) == [] and layer_failures(server) == []


def test_redis_restart_under_open_streams(org, make_member, settings, tmp_path):
    raw = key_client(make_member(org)).raw_key
    with own_redis(tmp_path) as own:
        # The server's channel layer and this test's publishing both use our own Redis; the
        # cache stays on the shared one.
        layer = settings.CHANNEL_LAYERS["default"]
        host = {**layer["CONFIG"]["hosts"][0], "address": own.url, "socket_timeout": 3, "socket_connect_timeout": 1}
        settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": [host]}}}
        env = server_env(CHANNEL_REDIS_URL=own.url, CHANNEL_REDIS_SOCKET_TIMEOUT=3)
        with asgi_server(env) as server:

            async def scenario():
                async with (
                    httpx.AsyncClient() as http,
                    sse_stream(http, server.base_url, raw) as response,
                    websockets.connect(
                        f"{server.ws_url}/ws/orgs/{org.slug}/", additional_headers={"Authorization": f"Bearer {raw}"}
                    ) as ws,
                ):
                    sse = SSE(response)
                    assert (await sse.event())["json"] == {"type": "connected"}
                    await next_of(ws, "connected")
                    before = await in_thread(publish_on_commit, org=org, type="test.before", data={})
                    assert (await sse.event())["id"] == str(before.pk)
                    assert (await next_of(ws, "test.before"))["id"] == str(before.pk)

                    own.stop()
                    await asyncio.sleep(1)
                    during = [
                        await in_thread(publish_on_commit, org=org, type="test.during", data={"n": n}) for n in (1, 2)
                    ]  # persisted; their broadcast fails (Redis is down)
                    await asyncio.sleep(1)
                    restarted = time.monotonic()
                    await asyncio.to_thread(own.start)

                    # Both streams reconnect by themselves and send what the outage hid.
                    got = [await sse.event(timeout=15) for _ in during]
                    sse_back = time.monotonic() - restarted
                    assert [f["id"] for f in got] == [str(e.pk) for e in during]
                    ws_got = [await next_of(ws, "test.during", timeout=15) for _ in during]
                    ws_back = time.monotonic() - restarted
                    assert [m["id"] for m in ws_got] == [str(e.pk) for e in during]
                    print(f"\nRedis down ~2 s; missed events back after its restart: SSE {sse_back:.2f} s,")
                    print(f"websocket {ws_back:.2f} s")

                    after = await in_thread(publish_on_commit, org=org, type="test.after", data={})
                    assert (await sse.event(timeout=10))["id"] == str(after.pk)
                    assert (await next_of(ws, "test.after", timeout=10))["id"] == str(after.pk)

                # A client that lost its connection meanwhile: Last-Event-ID replays the rest.
                missed = await in_thread(publish_on_commit, org=org, type="test.missed", data={})
                async with (
                    httpx.AsyncClient() as http,
                    sse_stream(http, server.base_url, raw, **{"Last-Event-ID": str(before.pk)}) as response,
                ):
                    sse = SSE(response)
                    assert (await sse.event())["json"] == {"type": "connected"}
                    replayed = [(await sse.event())["id"] for _ in range(4)]
                    assert replayed == [str(e.pk) for e in (*during, after, missed)]
                async with websockets.connect(
                    f"{server.ws_url}/ws/orgs/{org.slug}/?last_event_id={before.pk}",
                    additional_headers={"Authorization": f"Bearer {raw}"},
                ) as ws:
                    await next_of(ws, "connected")
                    replayed = [json.loads(await asyncio.wait_for(ws.recv(), 3))["id"] for _ in range(4)]
                    assert replayed == [str(e.pk) for e in (*during, after, missed)]

            async_to_sync(scenario)()
            assert crashes(server) == []
