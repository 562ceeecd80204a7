"""The design document's own request examples, replayed verbatim (issue 9, item 5).

The examples below are copied from the reference `schedkit-architecture.txt` (the original
SchedKit architecture page); tests never read files outside the repository, so they live here:

    1. GET /v1/slots/:username/:event_slug?date=YYYY-MM-DD — available windows
    2. POST /book/:username/:event_slug — submit booking
    Team bookings (/v1/book/:org_slug/:team_slug/:event_slug) auto-assign to an available
    team member … Team Event Types (bookable via /book/:org_slug/:team_slug/:et_slug)

    GET /v1/signals/stream … ←── data: {"type":"connected"} … ←── data: {"type":"signal.beacon",...}

    Signals: beacon | capture | note | checkin | alert. Beacon pings are not stored per-ping —
    only beacon_on (first activation) and beacon_off (stop) are persisted.

    POST /v1/tickets
      { title, priority: "urgent", source: "alert", lat, lng }
           ├──→ SSE broadcast: incident.created → all war-room clients
    POST /v1/book/:username/:event_slug
      { start_time, attendee_name, attendee_email }
           ├──→ Confirmation email → attendee
    PATCH /v1/tickets/:id { status: "in_progress", assignee_id }
           └──→ SSE broadcast: incident.updated

Every POST here that the API marks as needing one carries an `Idempotency-Key` (the booking
calls); the bodies are the documented ones.
"""

import asyncio
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.bookings.models import Booking
from apps.events.models import Event
from apps.incidents.models import Incident
from apps.orgs.models import Role, TeamMember
from apps.signals.models import Beacon, Signal
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.factories import TeamFactory
from tests.scheduling.factories import make_location, make_person, make_rule
from tests.servers import asgi_server, server_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
DAY = date.today() + timedelta(days=5)
BERLIN = ZoneInfo("Europe/Berlin")
WRITES = ("INSERT", "UPDATE", "DELETE")


def at(hour, minute=0):
    return datetime.combine(DAY, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="dr-who")
    make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=30)
    make_event_type(org, person, slug="intro")
    return person


@pytest.fixture
def dispatcher(org, make_member):
    return key_client(make_member(org, Role.SCHEDULER))


def booking_body(start):
    return {"start_time": start.isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test"}


# --- bookings ----------------------------------------------------------------------------------


def test_get_slots_then_post_book_username_event_slug(host):
    public = APIClient()
    slots = public.get(f"/v1/slots/dr-who/intro?date={DAY.isoformat()}")
    assert slots.status_code == 200, slots.content
    assert datetime.fromisoformat(slots.json()["slots"][0]["start"]) == at(9)

    # The public page's URL, JSON body: the API's booking call.
    booked = public.post("/book/dr-who/intro", booking_body(at(9)), format="json", HTTP_IDEMPOTENCY_KEY="b1")
    assert booked.status_code == 201, booked.content
    assert booked["Content-Type"] == "application/json"
    body = booked.json()
    assert body["status"] == "confirmed" and body["cancel_url"] and body["reschedule_url"]
    assert [m.to for m in mail.outbox if m.to == ["ann@example.test"]] == [
        ["ann@example.test"]
    ]  # (+ the host's notice)
    # Same idempotency rules as /v1/book: a replay, a reused key, a missing key.
    replay = public.post("/book/dr-who/intro", booking_body(at(9)), format="json", HTTP_IDEMPOTENCY_KEY="b1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    reused = public.post("/book/dr-who/intro", booking_body(at(10)), format="json", HTTP_IDEMPOTENCY_KEY="b1")
    assert reused.status_code == 422 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    missing = public.post("/book/dr-who/intro", booking_body(at(10)), format="json")
    assert missing.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    # Same slot rules: the taken time is a 409 problem, exactly as on /v1/book.
    taken = public.post("/book/dr-who/intro", booking_body(at(9)), format="json", HTTP_IDEMPOTENCY_KEY="b2")
    assert taken.status_code == 409 and taken["Content-Type"] == "application/problem+json"
    assert taken.json()["code"] == "SLOT_FULL"
    assert Booking.objects.count() == 1


def test_post_v1_book_username_event_slug(host):
    response = APIClient().post("/v1/book/dr-who/intro", booking_body(at(10)), format="json", HTTP_IDEMPOTENCY_KEY="v1")
    assert response.status_code == 201, response.content
    assert response.json()["person_id"] == str(host.pk)
    assert mail.outbox and mail.outbox[0].to == ["ann@example.test"]


def test_the_booking_form_still_posts_and_keeps_its_csrf_check(host):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/book/dr-who/intro?date={DAY.isoformat()}")
    assert page.status_code == 200 and b"<form" in page.content
    form = {**booking_body(at(11)), "csrfmiddlewaretoken": page.cookies["csrftoken"].value}
    without_token = Client(enforce_csrf_checks=True).post("/book/dr-who/intro", booking_body(at(11)))
    assert without_token.status_code == 403
    booked = browser.post("/book/dr-who/intro", form)
    assert booked.status_code == 201 and b"text/html" in booked["Content-Type"].encode()
    assert Booking.objects.get().start_at == at(11)


def test_team_booking_routes_to_a_member(org):
    location = make_location(org, tz="Europe/Berlin")
    team = TeamFactory(org=org, slug="night-shift")
    people = []
    for name in ("alice", "bob"):
        person = make_person(org, location, username=name)
        make_rule(location, person, start_time=time(9), end_time=time(12))
        TeamMember.objects.create(org=org, team=team, membership=person.membership)
        people.append(person)
    make_event_type(org, team=team, slug="triage")
    public = APIClient()
    api = public.post(
        f"/v1/book/{org.slug}/night-shift/triage", booking_body(at(9)), format="json", HTTP_IDEMPOTENCY_KEY="t1"
    )
    assert api.status_code == 201, api.content
    assert Client().get(f"/book/{org.slug}/night-shift/triage?date={DAY.isoformat()}").status_code == 200
    page = public.post(
        f"/book/{org.slug}/night-shift/triage", booking_body(at(9)), format="json", HTTP_IDEMPOTENCY_KEY="t2"
    )
    assert page.status_code == 201, page.content
    assert sorted([api.json()["person_id"], page.json()["person_id"]]) == sorted(str(p.pk) for p in people)


# --- tickets / incidents -----------------------------------------------------------------------


def test_post_tickets_with_source_alert_and_coordinates(org, dispatcher):
    response = dispatcher.post(
        "/v1/tickets",
        {"title": "Smoke detector, building C", "priority": "urgent", "source": "alert", "lat": 52.52, "lng": 13.405},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["priority"], body["source"], body["lat"], body["lng"]) == ("urgent", "alert", 52.52, 13.405)
    created = Event.objects.get(org=org, type="incident.created")
    assert created.data["id"] == body["id"] and created.data["source"] == "alert"
    # source defaults to api; the documented values only.
    plain = dispatcher.post("/v1/incidents", {"title": "Printer on fire"}, format="json")
    assert plain.json()["source"] == "api"
    for source in ("email", "webhook"):
        assert dispatcher.post("/v1/tickets", {"title": source, "source": source}, format="json").status_code == 201
    bad = dispatcher.post("/v1/tickets", {"title": "x", "source": "pager"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "source"


def test_patch_ticket_status_and_assignee_id(org, dispatcher, make_member):
    responder = make_member(org, Role.MEMBER)
    ticket = dispatcher.post("/v1/tickets", {"title": "Gate 4", "priority": "high"}, format="json").json()

    response = dispatcher.patch(
        f"/v1/tickets/{ticket['id']}", {"status": "in_progress", "assignee_id": str(responder.pk)}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "in_progress"
    assert [a["membership_id"] for a in body["assignees"]] == [str(responder.pk)]
    updates = Event.objects.filter(org=org, type="incident.updated").order_by("id")
    assert {tuple(e.data["changed"]) for e in updates} == {("status",), ("assignees",)}
    assert updates.last().data["status"] == "in_progress"

    # The list form beside it, and the same status machine as /transition.
    other = make_member(org, Role.MEMBER)
    both = dispatcher.patch(
        f"/v1/incidents/{ticket['id']}", {"assignee_ids": [str(responder.pk), str(other.pk)]}, format="json"
    )
    assert len(both.json()["assignees"]) == 2
    same = dispatcher.patch(f"/v1/tickets/{ticket['id']}", {"status": "in_progress"}, format="json")
    assert same.status_code == 200  # already there: nothing to move
    assert dispatcher.patch(f"/v1/tickets/{ticket['id']}", {"status": "resolved"}, format="json").status_code == 200
    assert dispatcher.patch(f"/v1/tickets/{ticket['id']}", {"status": "closed"}, format="json").status_code == 200
    illegal = dispatcher.patch(
        f"/v1/tickets/{ticket['id']}", {"status": "open", "title": "renamed", "assignee_id": None}, format="json"
    )
    assert illegal.status_code == 409 and illegal.json()["code"] == "ILLEGAL_TRANSITION"
    incident = Incident.objects.get(pk=ticket["id"])
    assert incident.title == "Gate 4" and incident.assignees.count() == 2, "an illegal move writes nothing"

    # A responder may move their own incident but not dispatch it.
    mine = key_client(responder)
    fresh = dispatcher.post("/v1/tickets", {"title": "Fence", "assignee_ids": [str(responder.pk)]}, format="json")
    assert mine.patch(f"/v1/tickets/{fresh.json()['id']}", {"status": "in_progress"}, format="json").status_code == 200
    denied = mine.patch(f"/v1/tickets/{fresh.json()['id']}", {"assignee_id": str(other.pk)}, format="json")
    assert denied.status_code == 403
    both_forms = dispatcher.patch(
        f"/v1/tickets/{fresh.json()['id']}", {"assignee_id": None, "assignee_ids": []}, format="json"
    )
    assert both_forms.status_code == 400


def test_public_status_page_by_customer_token(dispatcher):
    ticket = dispatcher.post("/v1/tickets", {"title": "Outage", "priority": "urgent"}, format="json").json()
    status = APIClient().get(f"/v1/status/{ticket['customer_token']}")
    assert status.status_code == 200 and status.json()["status"] == "open"


# --- signals -----------------------------------------------------------------------------------


def test_every_signal_type_posts_to_v1_signals_and_beacons_take_the_fast_path(org, make_member):
    member = make_member(org, Role.MEMBER)
    client = key_client(member)
    for body in (
        {"type": "note", "text": "gate 4 blocked", "lat": 52.5, "lng": 13.4},
        {"type": "checkin", "lat": 52.5, "lng": 13.4},
        {"type": "alert", "title": "Man down", "lat": 52.5, "lng": 13.4},
    ):
        assert client.post("/v1/signals", body, format="json").status_code == 201, body
    assert Incident.objects.get(org=org).source == "alert"

    first = client.post("/v1/signals", {"type": "beacon", "lat": 52.5, "lng": 13.4}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["started"] is True
    beacon = Beacon.objects.get(membership=member)
    rows = (Signal.objects.count(), Event.objects.count())
    for i in range(5):
        with CaptureQueriesContext(connection) as ctx:
            ping = client.post("/v1/signals", {"type": "beacon", "lat": 52.5 + i / 1000, "lng": 13.4}, format="json")
        assert ping.status_code == 200 and ping.json()["beacon_id"] == str(beacon.pk)
        assert [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)] == []
    assert (Signal.objects.count(), Event.objects.count()) == rows
    assert client.post("/v1/signals/beacon/stop").status_code == 200
    assert Event.objects.filter(org=org, type="signal.beacon_off").count() == 1


def test_signal_stream_says_connected_then_carries_events(org, make_member):
    member = make_member(org, Role.MEMBER)
    client = key_client(member)

    with asgi_server(server_env()) as server:

        async def scenario():
            headers = {"Authorization": f"Bearer {client.raw_key}"}
            async with httpx.AsyncClient(timeout=10) as http:
                async with http.stream("GET", f"{server.base_url}/v1/signals/stream", headers=headers) as stream:
                    assert stream.status_code == 200
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    lines = stream.aiter_lines()
                    frames = []
                    posted = False
                    async for line in lines:
                        if line.startswith("data:"):
                            frames.append(json.loads(line[5:]))
                            if not posted:
                                posted = True
                                await http.post(
                                    f"{server.base_url}/v1/signals",
                                    headers=headers,
                                    json={"type": "beacon", "lat": 52.5, "lng": 13.4},
                                )
                            elif frames[-1]["type"].startswith("signal.beacon"):
                                return frames

        frames = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert frames[0]["type"] == "connected"
    assert frames[-1]["type"] == "signal.beacon_on"
