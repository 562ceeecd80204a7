"""The responder answers on the org websocket (apps.events' handler registry): ack, status,
errors as problem codes, another org's assignment is not found."""

import asyncio
import json
from datetime import timedelta

import pytest
import websockets

from apps.dispatch import services
from apps.dispatch.models import Assignment
from apps.incidents import clock
from tests.conftest import key_client
from tests.dispatch.factories import make_responder
from tests.incidents.factories import make_incident
from tests.servers import asgi_server, server_env

pytestmark = pytest.mark.django_db(transaction=True)


async def talk(server, key, org_slug, *messages):
    url = f"{server.ws_url}/ws/orgs/{org_slug}/"
    replies = []
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        for message in messages:
            await ws.send(json.dumps(message))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if reply.get("type") in ("assignment.updated", "error"):
                    replies.append(reply)
                    break
    return replies


@pytest.fixture
def server(django_db_blocker):
    with asgi_server(server_env()) as proc:
        yield proc


def test_responder_acks_and_reports_status_on_the_socket(org, make_org, server):
    responder = make_responder(org)
    run, _ = services.dispatch_start(actor=None, incident=make_incident(org))
    assignment = run.assignments.get()
    key = key_client(responder.membership).raw_key
    replies = asyncio.run(
        talk(
            server,
            key,
            org.slug,
            {"type": "assignment.ack", "assignment_id": str(assignment.pk), "ref": "1"},
            {"type": "assignment.status", "assignment_id": str(assignment.pk), "status": "en_route", "ref": "2"},
            {"type": "assignment.status", "assignment_id": str(assignment.pk), "status": "flying"},
            {"type": "assignment.ack", "assignment_id": str(assignment.pk), "extra": 1},
        )
    )
    assert [r["type"] for r in replies] == ["assignment.updated", "assignment.updated", "error", "error"]
    assert replies[0]["ref"] == "1" and replies[0]["assignment"]["state"] == "acknowledged"
    assert replies[1]["assignment"]["state"] == "en_route"
    assert replies[2]["code"] == replies[3]["code"] == "VALIDATION_ERROR"
    assert Assignment.objects.get(pk=assignment.pk).state == "en_route"

    # another org's member: not found; an expired offer: ASSIGNMENT_EXPIRED
    other = make_org()
    stranger_key = key_client(make_responder(other).membership).raw_key
    [reply] = asyncio.run(
        talk(server, stranger_key, other.slug, {"type": "assignment.ack", "assignment_id": str(assignment.pk)})
    )
    assert reply["code"] == "NOT_FOUND"
    second = make_responder(org)
    run2, _ = services.dispatch_start(actor=None, incident=make_incident(org))
    offer = run2.assignments.get()
    assert offer.person_id == second.pk
    # the server process has its own clock: the offer's deadline is moved into the past instead
    Assignment.objects.filter(pk=offer.pk).update(ack_deadline=clock.now() - timedelta(seconds=1))
    key2 = key_client(second.membership).raw_key
    [reply] = asyncio.run(talk(server, key2, org.slug, {"type": "assignment.ack", "assignment_id": str(offer.pk)}))
    assert reply["code"] == "ASSIGNMENT_EXPIRED"
