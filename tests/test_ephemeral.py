"""Live beacon positions through the ephemeral hub (apps/events/ephemeral.py), on real Redis
and real server processes: one subscription per org and process, taken with the first local
subscriber and dropped after the last; a position reaches every websocket and SSE subscriber
of two processes, as the same text; the hub survives a Redis restart under open sockets and
later positions arrive again. A slow screen ending at the newest position under a flood is
tests/test_websocket.py's; the queue's coalescing is tests/test_live.py's."""

import asyncio
import json
import uuid

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync

from apps.events import ephemeral
from apps.events.live import Encoded, SendQueue
from apps.orgs.models import Role
from tests.conftest import key_client
from tests.servers import asgi_server, server_env
from tests.streams import SSE, next_of, sse_stream
from tests.test_stream_resilience import crashes, own_redis

pytestmark = [pytest.mark.services]


def position(member: str, lat: float) -> dict:
    return {"id": str(uuid.uuid4()), "type": "signal.beacon", "data": {"membership_id": member, "lat": lat}}


async def drained(queue: SendQueue) -> list:
    return [await queue.get() for _ in range(len(queue))]


def test_one_subscription_per_org_and_process_latest_wins_for_every_local_subscriber():
    org, other = uuid.uuid4(), uuid.uuid4()

    async def scenario():
        hub = ephemeral.hub()
        assert hub is not None  # the test settings' channel layer is Redis
        channel = hub.channel(org)
        first, second, elsewhere = SendQueue(100), SendQueue(100), SendQueue(100)
        await ephemeral.subscribe(org, first.put)
        await ephemeral.subscribe(org, second.put)
        await ephemeral.subscribe(other, elsewhere.put)
        assert dict(await hub.client.pubsub_numsub(channel)) == {channel.encode(): 1}

        for lat in range(50):
            await ephemeral.apublish(org, position("a", lat))
        await asyncio.to_thread(ephemeral.publish, org, position("b", -1.0))  # from a thread, as HTTP pings do
        # Counted as read, then handed out once the batch is read (the reader awaits between):
        # wait for both, each queue holding its two coalesced positions.
        while hub.received < 51 or len(first) < 2 or len(second) < 2:
            await asyncio.sleep(0.01)
        for queue in (first, second):
            got = await drained(queue)
            assert all(isinstance(item, Encoded) for item in got)
            assert [json.loads(item.text)["data"]["lat"] for item in got] == [49, -1.0]  # latest wins
        assert len(elsewhere) == 0  # another org's subscriber hears nothing of it

        await ephemeral.unsubscribe(org, first.put)
        assert dict(await hub.client.pubsub_numsub(channel)) == {channel.encode(): 1}  # the second still reads
        await ephemeral.unsubscribe(org, second.put)
        await ephemeral.unsubscribe(org, second.put)  # twice is harmless
        assert dict(await hub.client.pubsub_numsub(channel)) == {channel.encode(): 0}
        await ephemeral.unsubscribe(other, elsewhere.put)
        assert hub.reader is None and hub.pubsub is None  # no local subscriber: no connection either
        await hub.client.aclose()

    async_to_sync(scenario)()


def test_one_encoding_for_every_socket_coalesced_with_the_envelope_form():
    queue = SendQueue(10)
    queue.put(position("a", 1))
    envelope = position("a", 2)
    queue.put(Encoded(("signal.beacon", "a"), envelope["id"], ephemeral.encode(envelope)))
    assert len(queue) == 1 and queue.coalesced == 1
    assert json.loads(asyncio.run(queue.get()).text)["data"]["lat"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_position_reaches_every_subscriber_of_two_processes_as_the_same_text(two_servers, org, make_member):
    server_a, server_b = two_servers
    phone_raw = key_client(make_member(org, Role.MEMBER)).raw_key
    screens = [key_client(make_member(org, Role.SCHEDULER)).raw_key for _ in range(3)]

    def ws(server, raw):
        return websockets.connect(
            f"{server.ws_url}/ws/orgs/{org.slug}/", additional_headers={"Authorization": f"Bearer {raw}"}
        )

    async def beacon_texts(sock, lat) -> str:
        while True:
            raw_message = await asyncio.wait_for(sock.recv(), 5)
            message = json.loads(raw_message)
            if message["type"] == "signal.beacon" and message["data"]["lat"] == lat:
                return raw_message

    async def sse_position(sse, lat) -> dict:
        while True:
            frame = await sse.event(timeout=5)
            if frame["json"]["type"] == "signal.beacon" and frame["json"]["data"]["lat"] == lat:
                return frame

    async def scenario():
        async with (
            httpx.AsyncClient() as http,
            sse_stream(http, server_a.base_url, screens[0]) as response_a,
            sse_stream(http, server_b.base_url, screens[1]) as response_b,
            ws(server_a, phone_raw) as phone,
            ws(server_a, screens[0]) as a1,
            ws(server_a, screens[1]) as a2,
            ws(server_b, screens[2]) as b1,
            ws(server_b, screens[0]) as b2,
        ):
            sse_a, sse_b = SSE(response_a), SSE(response_b)
            for sse in (sse_a, sse_b):
                assert (await sse.event())["json"] == {"type": "connected"}
            for sock in (phone, a1, a2, b1, b2):
                await next_of(sock, "connected")
            await phone.send(json.dumps({"type": "beacon", "lat": 1, "lng": 2}))  # the first: beacon_on
            assert (await next_of(phone, "beacon.ack"))["started"] is True
            for lat in (3, 4, 5):
                await phone.send(json.dumps({"type": "beacon", "lat": lat, "lng": 2}))
                assert (await next_of(phone, "beacon.ack"))["started"] is False
            texts = [await beacon_texts(sock, 5) for sock in (a1, a2, b1, b2)]
            assert len(set(texts)) == 1  # one encoding, sent as is by every socket of both processes
            frames = [await sse_position(sse, 5) for sse in (sse_a, sse_b)]
            assert {f["data"] for f in frames} == set(texts) and {f["id"] for f in frames} == {
                json.loads(texts[0])["id"]
            }

            # An HTTP ping on the other process reaches them all too.
            posted = await http.post(
                f"{server_b.base_url}/v1/signals/beacon",
                headers={"Authorization": f"Bearer {phone_raw}"},
                json={"lat": 6, "lng": 2},
            )
            assert posted.status_code == 200, posted.text
            assert len({await beacon_texts(sock, 6) for sock in (a1, a2, b1, b2)}) == 1
            for sse in (sse_a, sse_b):
                await sse_position(sse, 6)

    async_to_sync(scenario)()
    assert crashes(server_a) == [] and crashes(server_b) == []


@pytest.mark.django_db(transaction=True)
def test_the_hub_resubscribes_after_a_redis_restart_under_open_sockets(org, make_member, tmp_path):
    phone_raw = key_client(make_member(org, Role.MEMBER)).raw_key
    screen_raw = key_client(make_member(org, Role.SCHEDULER)).raw_key
    with own_redis(tmp_path) as own:
        # The server's channel layer (and so its hub) on our own Redis; the cache stays on the shared one.
        with asgi_server(server_env(CHANNEL_REDIS_URL=own.url, CHANNEL_REDIS_SOCKET_TIMEOUT=3)) as server:

            def ws(raw):
                url = f"{server.ws_url}/ws/orgs/{org.slug}/"
                return websockets.connect(url, additional_headers={"Authorization": f"Bearer {raw}"})

            async def position_after_pings(phone, screen, sse, lat) -> None:
                # Pinged until a position gets through: the hub is back once one does.
                async def ping():
                    n = 0
                    while True:
                        await phone.send(json.dumps({"type": "beacon", "lat": lat + n / 1000, "lng": 2}))
                        n += 1
                        await asyncio.sleep(0.2)

                pinger = asyncio.ensure_future(ping())
                try:
                    while (message := await next_of(screen, "signal.beacon", timeout=20))["data"]["lat"] < lat:
                        pass
                    while (frame := await sse.event(timeout=20))["json"].get("data", {}).get("lat", 0) < lat:
                        pass
                finally:
                    pinger.cancel()
                assert message["data"]["lat"] >= lat and frame["json"]["type"] == "signal.beacon"

            async def scenario():
                async with (
                    httpx.AsyncClient() as http,
                    sse_stream(http, server.base_url, screen_raw) as response,
                    ws(phone_raw) as phone,
                    ws(screen_raw) as screen,
                ):
                    sse = SSE(response)
                    assert (await sse.event())["json"] == {"type": "connected"}
                    await next_of(phone, "connected")
                    await next_of(screen, "connected")
                    await phone.send(json.dumps({"type": "beacon", "lat": 1, "lng": 2}))
                    await next_of(screen, "signal.beacon_on")
                    await position_after_pings(phone, screen, sse, 10)

                    own.stop()
                    for n in range(5):  # pings during the outage: their positions are lost
                        await phone.send(json.dumps({"type": "beacon", "lat": 20 + n, "lng": 2}))
                    await asyncio.sleep(1)
                    await asyncio.to_thread(own.start)
                    await position_after_pings(phone, screen, sse, 30)
                    await phone.send(json.dumps({"type": "ping"}))
                    await next_of(phone, "pong", timeout=10)  # the phone's socket lived through it

            async_to_sync(scenario)()
            assert crashes(server) == []
            assert any("ephemeral hub Redis reachable again" in line for line in server.output), server.output[-20:]
