"""Access that ends (issue 17): revoking an API key, removing a membership or downgrading its
role closes that caller's open websockets and SSE streams, on real server processes; other
callers' streams stay open; no cache keeps a revoked key working."""

import asyncio
import json
import threading

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from django.db import transaction
from django.test import Client

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_authenticate, api_key_revoke, api_key_version_key
from apps.events.publish import publish_on_commit
from apps.orgs.models import Role
from apps.orgs.services import membership_remove, membership_update
from schedkit.tokens import token_hash
from tests.conftest import key_client
from tests.factories import actor_for
from tests.servers import asgi_server, server_env
from tests.streams import SSE, in_thread, next_of, sse_stream

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

CLOSE_WITHIN = 5.0  # seconds: the bound for a revoked caller's streams


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with asgi_server(server_env()) as proc:
            yield proc


def ws_connect(server, slug, raw=None, cookie=None):
    headers = {"Authorization": f"Bearer {raw}"} if raw else {"Cookie": cookie}
    return websockets.connect(f"{server.ws_url}/ws/orgs/{slug}/", additional_headers=headers, origin="http://127.0.0.1")


async def closed_code(ws, timeout=CLOSE_WITHIN) -> int:
    """Read until the server closes the socket; its close code."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except websockets.exceptions.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


def revoke_via_api(owner_client, key_id):
    return owner_client.delete(f"/v1/api-keys/{key_id}").status_code


def test_a_revoked_keys_open_websocket_and_sse_stream_close_within_seconds(server, org, owner, make_member):
    member = make_member(org, Role.MEMBER)
    revoked_raw = key_client(member).raw_key
    revoked_key = ApiKey.objects.get(key_hash=token_hash(revoked_raw))
    other_raw = key_client(member).raw_key  # the same user's other key keeps working
    bystander_raw = key_client(make_member(org, Role.SCHEDULER)).raw_key
    owner_client = key_client(owner)

    async def scenario():
        async with (
            httpx.AsyncClient() as http,
            sse_stream(http, server.base_url, revoked_raw) as revoked_sse,
            sse_stream(http, server.base_url, bystander_raw) as bystander_sse,
            ws_connect(server, org.slug, revoked_raw) as revoked_ws,
            ws_connect(server, org.slug, other_raw) as other_ws,
        ):
            revoked, bystander = SSE(revoked_sse), SSE(bystander_sse)
            for sse in (revoked, bystander):
                assert (await sse.event())["json"] == {"type": "connected"}
            for ws in (revoked_ws, other_ws):
                await next_of(ws, "connected")

            assert await in_thread(revoke_via_api, owner_client=owner_client, key_id=revoked_key.pk) == 204

            code = await closed_code(revoked_ws)
            assert code == 4401
            seen = await revoked.ended(CLOSE_WITHIN)
            assert [e["type"] for e in seen] == ["access.revoked"]
            assert seen[0]["data"] == {
                "reason": "api_key_revoked",
                "api_key_id": str(revoked_key.pk),
                "user_id": str(member.user_id),
                "membership_id": None,
            }

            # Everyone else: the event, then the stream goes on.
            assert (await bystander.event())["json"]["type"] == "access.revoked"
            assert (await next_of(other_ws, "access.revoked"))["data"]["api_key_id"] == str(revoked_key.pk)
            await in_thread(publish_on_commit, org=org, type="test.after", data={})
            assert (await bystander.event())["json"]["type"] == "test.after"
            assert (await next_of(other_ws, "test.after"))["org"] == org.slug

        async with httpx.AsyncClient() as http:
            again = await http.get(f"{server.base_url}/v1/signals/stream", headers={"X-API-Key": revoked_raw})
            assert again.status_code == 401
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with ws_connect(server, org.slug, revoked_raw):
                pass

    async_to_sync(scenario)()


def test_removing_or_downgrading_a_membership_closes_its_streams(server, org, owner, make_member):
    removed = make_member(org, Role.SCHEDULER)
    downgraded = make_member(org, Role.MANAGER)
    removed_raw = key_client(removed).raw_key
    browser = Client()
    browser.force_login(downgraded.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    owner_actor = actor_for(owner)

    async def scenario():
        async with (
            httpx.AsyncClient() as http,
            sse_stream(http, server.base_url, removed_raw) as removed_sse,
            sse_stream(http, server.base_url, None, Cookie=cookie) as downgraded_sse,
            ws_connect(server, org.slug, removed_raw) as removed_ws,
            ws_connect(server, org.slug, cookie=cookie) as downgraded_ws,
        ):
            removed_stream, downgraded_stream = SSE(removed_sse), SSE(downgraded_sse)
            for sse in (removed_stream, downgraded_stream):
                assert (await sse.event())["json"] == {"type": "connected"}
            for ws in (removed_ws, downgraded_ws):
                await next_of(ws, "connected")

            # An upgrade ends nothing.
            await in_thread(membership_update, actor=owner_actor, membership=downgraded, role=Role.ADMIN)
            assert (await next_of(downgraded_ws, "member.updated"))["data"]["role"] == Role.ADMIN
            assert (await downgraded_stream.event())["json"]["type"] == "member.updated"

            await in_thread(membership_update, actor=owner_actor, membership=downgraded, role=Role.MEMBER)
            assert await closed_code(downgraded_ws) == 4401
            seen = await downgraded_stream.ended(CLOSE_WITHIN)
            assert seen[-1]["type"] == "access.revoked" and seen[-1]["data"]["reason"] == "role_downgraded"

            await in_thread(membership_remove, actor=owner_actor, membership=removed)
            assert await closed_code(removed_ws) == 4401
            seen = await removed_stream.ended(CLOSE_WITHIN)
            assert seen[-1]["data"] == {
                "reason": "membership_removed",
                "membership_id": str(removed.pk),
                "user_id": str(removed.user_id),
                "api_key_id": None,
            }

        # The downgraded member reconnects with the new role; the removed one cannot.
        async with ws_connect(server, org.slug, cookie=cookie) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with ws_connect(server, org.slug, removed_raw):
                pass

    async_to_sync(scenario)()


def test_no_cached_copy_outlives_a_revocation_even_one_cached_during_it(org, owner):
    """A request that resolves the key while the revoking transaction is still open (it still
    sees the key as live, and caches it) must not keep it working after the commit."""
    raw = key_client(owner).raw_key
    key = api_key_authenticate(raw)
    assert key is not None  # now cached

    def concurrent_request():
        from django.db import connections

        try:
            assert api_key_authenticate(raw) is not None  # the revocation is not committed yet
        finally:
            connections.close_all()

    from django.core.cache import cache

    with transaction.atomic():
        api_key_revoke(actor=actor_for(owner), api_key=ApiKey.objects.get(pk=key.pk))
        cache.delete(api_key_version_key(key.key_hash))  # make the concurrent request read the database
        worker = threading.Thread(target=concurrent_request)
        worker.start()
        worker.join()
        assert cache.get(api_key_version_key(key.key_hash)) is not None  # re-cached, still live
    assert api_key_authenticate(raw) is None
    assert cache.get(api_key_version_key(key.key_hash)) is None
