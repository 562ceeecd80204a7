"""The org websocket on real server processes: auth, org scoping, and fan-out across
processes through channels-redis."""

import asyncio
import json

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from django.db import transaction
from django.test import Client

from apps.accounts.models import ApiKey
from apps.events.publish import publish_on_commit
from apps.orgs.models import Role
from tests.conftest import key_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


async def in_thread(func, **kwargs):
    """Run ORM code from async test code in a worker thread that closes its connection."""
    from django.db import connections

    def run():
        try:
            return func(**kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


async def next_event(ws, timeout=3.0, skip=("connected", "pong")):
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message.get("type") not in skip:
            return message


async def refused(url, **kwargs) -> int:
    try:
        async with websockets.connect(url, **kwargs):
            return 0
    except websockets.exceptions.InvalidStatus as exc:
        return exc.response.status_code


def test_event_from_one_process_reaches_a_client_on_another(two_servers, owner):
    server_a, server_b = two_servers
    raw = key_client(owner).raw_key
    slug = owner.org.slug

    async def scenario():
        url = f"{server_a.ws_url}/ws/orgs/{slug}/"
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {raw}"}) as ws:
            assert json.loads(await ws.recv()) == {"type": "connected", "org": slug}
            async with httpx.AsyncClient() as http:
                response = await http.post(
                    f"{server_b.base_url}/v1/orgs/{slug}/teams",
                    headers={"Authorization": f"Bearer {raw}"},
                    json={"slug": "alpha", "name": "Alpha"},
                )
                assert response.status_code == 201
            event = await next_event(ws)
            assert event["type"] == "team.created" and event["org"] == slug
            assert event["data"]["slug"] == "alpha"

            # A third process (this test) publishes: rolled back → never delivered.
            def rolled_back():
                with transaction.atomic():
                    publish_on_commit(org=owner.org, type="test.rolled_back", data={})
                    transaction.set_rollback(True)

            await in_thread(rolled_back)
            await in_thread(publish_on_commit, org=owner.org, type="test.committed", data={})
            assert (await next_event(ws))["type"] == "test.committed"  # nothing came before it

    async_to_sync(scenario)()


def test_websocket_auth_variants(two_servers, owner, make_member, make_org):
    server, _ = two_servers
    slug = owner.org.slug
    raw = key_client(owner).raw_key
    browser = Client()
    browser.force_login(owner.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    other_org = make_org()
    outsider_raw = key_client(make_member(other_org, Role.OWNER)).raw_key
    url = f"{server.ws_url}/ws/orgs/{slug}/"

    async def accepted(url, **kwargs):
        async with websockets.connect(url, **kwargs) as ws:
            first = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "ping"}))
            return first["type"] == "connected" and json.loads(await ws.recv())["type"] == "pong"

    async def scenario():
        assert await accepted(url, additional_headers={"Authorization": f"Bearer {raw}"})
        assert await accepted(url, additional_headers={"X-API-Key": raw})
        assert await accepted(f"{url}?api_key={raw}")
        assert await accepted(url, additional_headers={"Cookie": cookie}, origin="http://127.0.0.1")
        assert await refused(url) == 403  # anonymous
        assert await refused(url, additional_headers={"Authorization": f"Bearer {outsider_raw}"}) == 403
        assert await refused(url, additional_headers={"Cookie": cookie}, origin="http://evil.example") == 403
        assert await refused(f"{server.ws_url}/ws/orgs/{other_org.slug}/", additional_headers={"Cookie": cookie}) == 403

    async_to_sync(scenario)()
    first_key = ApiKey.objects.filter(user=owner.user).order_by("id").first()  # the one `raw` is
    assert key_client(owner).delete(f"/v1/api-keys/{first_key.pk}").status_code == 204  # revoked via the API
    assert async_to_sync(refused)(url, additional_headers={"Authorization": f"Bearer {raw}"}) == 403


def test_org_b_never_receives_org_a_events(two_servers, owner, make_org, make_member):
    server, _ = two_servers
    org_b = make_org()
    raw_b = key_client(make_member(org_b, Role.OWNER)).raw_key

    async def scenario():
        async with websockets.connect(
            f"{server.ws_url}/ws/orgs/{org_b.slug}/", additional_headers={"Authorization": f"Bearer {raw_b}"}
        ) as ws:
            await ws.recv()
            await in_thread(publish_on_commit, org=owner.org, type="test.secret", data={})
            await in_thread(publish_on_commit, org=org_b, type="test.mine", data={})
            assert (await next_event(ws))["type"] == "test.mine"

    async_to_sync(scenario)()


def test_hostile_frames_are_answered_not_fatal(two_servers, owner):
    server, _ = two_servers
    raw = key_client(owner).raw_key

    async def scenario():
        url = f"{server.ws_url}/ws/orgs/{owner.org.slug}/"
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {raw}"}) as ws:
            await ws.recv()
            for frame in (
                "{not json",
                "[1, 2]",
                '"beacon"',
                "null",
                b"\x00\xff",
                '{"type": {"a": 1}}',
                '{"type": "x"}',
            ):
                await ws.send(frame)
                error = json.loads(await asyncio.wait_for(ws.recv(), 3))
                assert error["type"] == "error" and error["code"] == "UNSUPPORTED_MESSAGE", frame
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 3)) == {"type": "pong"}

    async_to_sync(scenario)()
    assert not [line for line in server.output if "Traceback" in line or "Exception in ASGI" in line]


def test_a_beacon_flood_reaches_a_slow_screen_as_its_newest_position(two_servers, org, make_member):
    """A responder floods pings while a war-room screen reads nothing; then the screen reads:
    it ends at the newest position, the server stays up, no consumer crashes. The count of
    positions the slow screen got is printed: coalescing (tests/test_live.py) only starts once
    the socket's buffers are full, which on loopback takes megabytes."""
    server, _ = two_servers
    pings = 500
    phone_raw = key_client(make_member(org, Role.MEMBER)).raw_key
    screen_raw = key_client(make_member(org, Role.SCHEDULER)).raw_key
    url = f"{server.ws_url}/ws/orgs/{org.slug}/"

    async def scenario():
        async with (
            websockets.connect(
                url, additional_headers={"Authorization": f"Bearer {screen_raw}"}, max_queue=4
            ) as screen,
            websockets.connect(url, additional_headers={"Authorization": f"Bearer {phone_raw}"}) as phone,
        ):
            await screen.recv()
            await phone.recv()
            acks = 0

            async def read_phone():
                nonlocal acks
                async for raw_message in phone:
                    if json.loads(raw_message).get("type") == "beacon.ack":
                        acks += 1
                        if acks == pings:
                            return

            reader = asyncio.ensure_future(read_phone())
            for i in range(pings):
                await phone.send(json.dumps({"type": "beacon", "lat": i / 100, "lng": 1}))
            await asyncio.wait_for(reader, 60)
            last, received = None, 0
            while last != (pings - 1) / 100:
                message = json.loads(await asyncio.wait_for(screen.recv(), 10))
                if message["type"] == "signal.beacon":
                    received += 1
                    last = message["data"]["lat"]
            print(f"\n{pings} beacon pings; the slow screen received {received} positions, the newest last")
            await screen.send(json.dumps({"type": "ping"}))
            assert (await next_event(screen, skip=("signal.beacon", "signal.beacon_on")))["type"] == "pong"

    async_to_sync(scenario)()
    assert not [line for line in server.output if "Traceback" in line or "Exception in ASGI" in line]
