"""The SSE stream and the websocket beacon, on real server processes (uvicorn, the test
database, Redis): streamed with a real HTTP client, across processes."""

import asyncio
import json
import time

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from django.test import Client

from apps.events.models import Event
from apps.events.publish import publish_on_commit
from apps.orgs.models import Role
from apps.signals.models import Beacon, Signal
from tests.conftest import key_client
from tests.servers import asgi_server, server_env
from tests.streams import SSE, in_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

PING_SECONDS = 0.5


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        env = server_env(EVENTS_SSE_PING_SECONDS=PING_SECONDS)
        with asgi_server(env) as a, asgi_server(env) as b:
            yield a, b


def stream(http, base_url, raw_key, **headers):
    return http.stream(
        "GET", f"{base_url}/v1/signals/stream", headers={"Authorization": f"Bearer {raw_key}", **headers}, timeout=10
    )


def test_stream_connects_delivers_within_a_second_and_keeps_alive(servers, org, make_member):
    server_a, server_b = servers
    member = make_member(org, Role.MEMBER)
    raw = key_client(member).raw_key

    async def scenario():
        async with httpx.AsyncClient() as http, stream(http, server_a.base_url, raw) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            sse = SSE(response)
            first = await sse.frame()
            assert json.loads(first["data"]) == {"type": "connected"}
            assert first["retry"] == "3000"  # an EventSource reconnects after 3 s

            # A signal POSTed to the *other* process reaches this stream within 1 s.
            started = time.monotonic()
            posted = await http.post(
                f"{server_b.base_url}/v1/signals",
                headers={"Authorization": f"Bearer {raw}"},
                json={"type": "note", "text": "hello"},
            )
            assert posted.status_code == 201
            event = await sse.event(timeout=1.0)
            assert time.monotonic() - started < 1.0
            assert event["json"]["type"] == "signal.created" and event["json"]["org"] == org.slug
            assert event["json"]["data"]["id"] == posted.json()["id"]
            assert event["id"] == event["json"]["id"]

            # Idle: a keepalive comment arrives every EVENTS_SSE_PING_SECONDS.
            keepalive = await sse.frame(timeout=PING_SECONDS * 4)
            assert keepalive == {"comment": "ping"}

            # Beacon pings (no persistence) stream too, with their own ids.
            for lat in (1.0, 1.5):
                await http.post(
                    f"{server_b.base_url}/v1/signals/beacon",
                    headers={"Authorization": f"Bearer {raw}"},
                    json={"lat": lat, "lng": 2},
                )
            on = await sse.event()
            assert on["json"]["type"] == "signal.beacon_on"
            ping = await sse.event()
            assert ping["json"]["type"] == "signal.beacon" and ping["json"]["data"]["lat"] == 1.5

    async_to_sync(scenario)()


def test_last_event_id_replays_missed_events_then_streams_live(servers, org, make_member):
    server, _ = servers
    raw = key_client(make_member(org)).raw_key
    seen = publish_on_commit(org=org, type="test.seen", data={"n": 0})
    missed = [publish_on_commit(org=org, type="test.missed", data={"n": n}) for n in (1, 2, 3)]

    async def scenario():
        async with (
            httpx.AsyncClient() as http,
            stream(http, server.base_url, raw, **{"Last-Event-ID": str(seen.pk)}) as response,
        ):
            sse = SSE(response)
            assert json.loads((await sse.frame())["data"]) == {"type": "connected"}
            replayed = [await sse.event() for _ in missed]
            assert [f["id"] for f in replayed] == [str(e.pk) for e in missed]
            assert [f["json"]["data"]["n"] for f in replayed] == [1, 2, 3]
            await in_thread(publish_on_commit, org=org, type="test.live", data={})
            assert (await sse.event())["json"]["type"] == "test.live"

        async with httpx.AsyncClient() as http:
            headers = {"Authorization": f"Bearer {raw}", "Last-Event-ID": "x"}
            bad = await http.get(f"{server.base_url}/v1/signals/stream", headers=headers)
        assert bad.status_code == 400 and bad.json()["code"] == "INVALID_LAST_EVENT_ID"

    async_to_sync(scenario)()


def test_org_b_never_receives_org_a_events(servers, org, make_member, make_org):
    server, _ = servers
    org_b = make_org()
    raw_a = key_client(make_member(org)).raw_key
    raw_b = key_client(make_member(org_b)).raw_key
    secret = publish_on_commit(org=org, type="test.secret", data={})

    async def scenario():
        # Replay from before org A's event: org B's replay holds none of it either.
        async with (
            httpx.AsyncClient() as http,
            stream(
                http, server.base_url, raw_b, **{"Last-Event-ID": "00000000-0000-7000-8000-000000000000"}
            ) as response,
        ):
            sse = SSE(response)
            await sse.frame()
            await http.post(
                f"{server.base_url}/v1/signals",
                headers={"Authorization": f"Bearer {raw_a}"},
                json={"type": "alert", "title": "A only"},
            )
            await http.post(
                f"{server.base_url}/v1/signals/beacon",
                headers={"Authorization": f"Bearer {raw_a}"},
                json={"lat": 1, "lng": 1},
            )
            await http.post(
                f"{server.base_url}/v1/signals/beacon",
                headers={"Authorization": f"Bearer {raw_a}"},
                json={"lat": 1, "lng": 1},
            )
            await in_thread(publish_on_commit, org=org_b, type="test.mine", data={})
            event = await sse.event()
            assert event["json"]["type"] == "test.mine" and event["json"]["org"] == org_b.slug
            assert event["id"] != str(secret.pk)

    async_to_sync(scenario)()


def test_stream_auth(servers, org, make_member, make_org):
    server, _ = servers
    member = make_member(org)
    browser = Client()
    browser.force_login(member.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    raw = key_client(member).raw_key
    url = f"{server.base_url}/v1/signals/stream"

    async def scenario():
        async with httpx.AsyncClient(timeout=5) as http:
            anonymous = await http.get(url)
            assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
            bad_key = await http.get(url, headers={"Authorization": "Bearer sk_live_nope"})
            assert bad_key.status_code == 401
            foreign = await http.get(url, headers={"Authorization": f"Bearer {raw}", "X-Org": make_org_slug})
            assert foreign.status_code == 404 and foreign.json()["code"] == "ORG_NOT_FOUND"
            async with http.stream("GET", url, headers={"Cookie": cookie}) as response:  # a browser's EventSource
                assert response.status_code == 200
                assert json.loads((await SSE(response).frame())["data"]) == {"type": "connected"}
            async with http.stream("GET", f"{url}?org={org.slug}", headers={"X-API-Key": raw}) as response:
                assert response.status_code == 200
            events_url = f"{server.base_url}/v1/events/stream"  # the same stream beside /v1/events
            async with http.stream("GET", events_url, headers={"X-API-Key": raw}) as response:
                assert response.status_code == 200
                assert json.loads((await SSE(response).frame())["data"]) == {"type": "connected"}

    make_org_slug = make_org().slug
    async_to_sync(scenario)()


def test_websocket_beacon_pings_write_nothing_after_the_first(servers, org, make_member):
    server_a, server_b = servers
    responder, dispatcher = make_member(org, Role.MEMBER), make_member(org, Role.SCHEDULER)
    raw_responder, raw_dispatcher = key_client(responder).raw_key, key_client(dispatcher).raw_key
    url_a = f"{server_a.ws_url}/ws/orgs/{org.slug}/"
    url_b = f"{server_b.ws_url}/ws/orgs/{org.slug}/"

    async def next_of(ws, kind, timeout=3.0):
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if message.get("type") == kind:
                return message

    async def scenario():
        async with websockets.connect(
            url_b, additional_headers={"Authorization": f"Bearer {raw_dispatcher}"}
        ) as war_room:
            await next_of(war_room, "connected")
            async with websockets.connect(
                url_a, additional_headers={"Authorization": f"Bearer {raw_responder}"}
            ) as phone:
                await next_of(phone, "connected")
                await phone.send(json.dumps({"type": "beacon", "lat": 10, "lng": 20, "ref": 1}))
                ack = await next_of(phone, "beacon.ack")
                assert ack["started"] is True and ack["ref"] == 1
                assert (await next_of(war_room, "signal.beacon_on"))["data"]["lat"] == 10
                counts = await in_thread(
                    lambda: (Signal.objects.count(), Event.objects.count(), Beacon.objects.count())
                )
                for i in range(30):
                    await phone.send(json.dumps({"type": "beacon", "lat": 10 + i / 100, "lng": 20, "ref": i}))
                    assert (await next_of(phone, "beacon.ack"))["started"] is False
                    message = await next_of(war_room, "signal.beacon")
                    assert message["data"]["lat"] == pytest.approx(10 + i / 100)
                    assert message["data"]["membership_id"] == str(responder.pk)
                after = await in_thread(lambda: (Signal.objects.count(), Event.objects.count(), Beacon.objects.count()))
                assert after == counts, "websocket beacon pings after the first wrote rows"

                await phone.send(json.dumps({"type": "beacon", "lat": 95, "lng": 0}))
                error = await next_of(phone, "error")
                assert error["code"] == "VALIDATION_ERROR" and "lat" in error["detail"]
                await phone.send(json.dumps({"type": "beacon", "lat": 1, "lng": 1, "evil": True}))
                assert (await next_of(phone, "error"))["code"] == "VALIDATION_ERROR"

                await phone.send(json.dumps({"type": "beacon.stop"}))
                assert (await next_of(phone, "beacon.stopped"))["beacon_id"] == ack["beacon_id"]
                off = await next_of(war_room, "signal.beacon_off")
                assert off["data"]["reason"] == "stopped"
                await phone.send(json.dumps({"type": "beacon.stop"}))
                assert (await next_of(phone, "error"))["code"] == "BEACON_NOT_ACTIVE"

    async_to_sync(scenario)()


def test_a_closed_stream_leaves_the_org_group(servers, org, make_member):
    from channels.layers import get_channel_layer

    from apps.events.publish import org_group

    server, _ = servers
    raw = key_client(make_member(org)).raw_key
    layer = get_channel_layer()
    group = org_group(org.pk)

    async def members() -> int:
        async with layer.connection(layer.consistent_hash(group)) as connection:
            return await connection.zcard(layer._group_key(group))

    async def scenario():
        assert await members() == 0
        async with httpx.AsyncClient() as http:
            async with stream(http, server.base_url, raw) as response:
                await SSE(response).frame()
                assert await members() == 1
        for _ in range(50):  # the server notices the disconnect and leaves the group
            if await members() == 0:
                break
            await asyncio.sleep(0.05)
        assert await members() == 0

    async_to_sync(scenario)()
