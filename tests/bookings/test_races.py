"""Races over real HTTP (uvicorn subprocesses, threads + httpx released by a barrier):
two confirms of one hold, one person booked through two event types at overlapping times,
and a cancelled seat that is bookable again at once."""

import threading
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.bookings.models import ACTIVE_STATUSES, Booking
from apps.events.models import Event
from apps.orgs.models import Role
from apps.scheduling.models import SlotInstance
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.scheduling.factories import make_location, make_person, make_rule, make_slot
from tests.servers import asgi_server, server_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
UTC = ZoneInfo("UTC")
ENV = {"THROTTLE_BOOKING": "100000/min", "THROTTLE_USER": "100000/min", "THROTTLE_ANON": "100000/min"}


def race(requests: list) -> list[httpx.Response]:
    """Send every (method, url, kwargs) at the same moment, one thread and client each."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(n, method, url, kwargs):
        with httpx.Client(timeout=30) as client:
            client.get(url.split("/v1/")[0] + "/healthz")  # connection open before the start line
            barrier.wait()
            results[n] = client.request(method, url, **kwargs)

    threads = [threading.Thread(target=run, args=(n, *r)) for n, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results), "a request did not finish"
    return results


def outcome(responses) -> list:
    return sorted((r.status_code, r.json().get("code")) for r in responses)


@pytest.fixture
def servers():
    env = server_env(**ENV)
    with asgi_server(env) as one, asgi_server(env) as two:
        yield one.base_url, two.base_url


def test_concurrent_confirms_of_one_hold_confirm_it_once(org, servers):
    membership = MembershipFactory(org=org, role=Role.FRONTDESK)
    raw_key = key_client(membership).raw_key
    auth = {"Authorization": f"Bearer {raw_key}"}
    location = make_location(org)
    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for round_ in range(5):  # several rounds: the interleaving differs each time
        slot = make_slot(location, capacity=1, start=start + timedelta(hours=round_))
        held = httpx.post(
            f"{servers[0]}/v1/bookings",
            json={"slot_id": str(slot.pk), "attendee_name": "Ann"},
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert held.status_code == 201, held.text
        booking_id = held.json()["id"]
        responses = race(
            [
                (
                    "POST",
                    f"{base}/v1/bookings/{booking_id}/confirm",
                    {"headers": {**auth, "Idempotency-Key": str(uuid.uuid4())}},
                )
                for base in servers
            ]
        )
        assert outcome(responses) == [(200, None), (409, "BOOKING_NOT_HELD")], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200)
        assert winner.json()["status"] == "confirmed"
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.headers["content-type"] == "application/problem+json"
        booking = Booking.objects.get(pk=booking_id)
        assert booking.status == "confirmed" and booking.confirmed_at is not None
        slot.refresh_from_db()
        assert (slot.hold, slot.booked, slot.status) == (0, 1, "full")
        confirmed = Event.objects.filter(type="booking.confirmed", data__id=booking_id)
        assert confirmed.count() == 1


def test_a_person_booked_through_two_event_types_at_once_gets_one_booking(org, servers):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="busy-bee")
    make_rule(location, person, start_time=time(8), end_time=time(18), slot_granularity_minutes=15)
    make_event_type(org, person, slug="long", duration_minutes=60)
    make_event_type(org, person, slug="short", duration_minutes=30)
    day = (timezone.now() + timedelta(days=3)).date()
    for round_ in range(6):
        long_start = datetime.combine(day, time(9 + round_), tzinfo=UTC)
        short_start = long_start + timedelta(minutes=30)  # inside the long meeting
        requests = [
            (
                "POST",
                f"{servers[n % 2]}/v1/book/busy-bee/{slug}",
                {
                    "json": {
                        "start_time": start.isoformat(),
                        "attendee_name": f"Guest {n}",
                        "attendee_email": f"guest{n}@example.test",
                    },
                    "headers": {"Idempotency-Key": str(uuid.uuid4())},
                },
            )
            for n, (slug, start) in enumerate((("long", long_start), ("short", short_start)))
        ]
        responses = race(requests)
        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["code"] in ("SLOT_UNAVAILABLE", "PERSON_UNAVAILABLE", "SLOT_FULL"), loser.text
        active = Booking.objects.filter(
            person=person,
            status__in=ACTIVE_STATUSES,
            start_at__lt=long_start + timedelta(hours=1),
            end_at__gt=long_start,
        )
        assert active.count() == 1
        winner = next(r for r in responses if r.status_code == 201)
        assert str(active.get().pk) == winner.json()["id"]


def test_cancel_then_rebook_the_same_slot_at_once(org, make_member):
    frontdesk = key_client(make_member(org, Role.FRONTDESK))
    admin = key_client(make_member(org, Role.ADMIN))
    location = make_location(org)
    person = make_person(org, location)
    slot = make_slot(location, person, capacity=1)

    def hold(key):
        return frontdesk.post(
            "/v1/bookings", {"slot_id": str(slot.pk), "attendee_name": key}, format="json", HTTP_IDEMPOTENCY_KEY=key
        )

    first = hold("first").json()
    assert frontdesk.post(f"/v1/bookings/{first['id']}/confirm", HTTP_IDEMPOTENCY_KEY="c1").status_code == 200
    assert hold("refused").json()["code"] == "SLOT_FULL"
    cancelled = admin.patch(f"/admin/v1/bookings/{first['id']}", {"action": "cancel"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    second = hold("second")
    assert second.status_code == 201, second.content
    assert frontdesk.post(f"/v1/bookings/{second.json()['id']}/confirm", HTTP_IDEMPOTENCY_KEY="c2").status_code == 200
    slot.refresh_from_db()
    assert (slot.hold, slot.booked, slot.status) == (0, 1, "full")
    assert SlotInstance.objects.get(pk=slot.pk).remaining == 0
    assert Booking.objects.filter(slot=slot, status__in=ACTIVE_STATUSES).count() == 1


def test_cancel_by_link_then_rebook_the_same_time_at_once(org):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="solo")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="intro", capacity=1)
    start = datetime.combine((timezone.now() + timedelta(days=2)).date(), time(10), tzinfo=UTC)
    public = APIClient()

    def book(key):
        body = {"start_time": start.isoformat(), "attendee_name": key, "attendee_email": f"{key}@example.test"}
        return public.post("/v1/book/solo/intro", body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    first = book("first")
    assert first.status_code == 201, first.content
    assert book("refused").json()["code"] == "SLOT_FULL"
    token = first.json()["cancel_url"].split("/")[-2]
    assert public.post(f"/v1/book/manage/{token}/cancel", {}, format="json").json()["status"] == "cancelled"
    slots = public.get(f"/v1/slots/solo/intro?date={start.date().isoformat()}").json()["slots"]
    assert start in [datetime.fromisoformat(s["start"]) for s in slots]
    second = book("second")
    assert second.status_code == 201, second.content
    assert Booking.objects.filter(person=person, status__in=ACTIVE_STATUSES).count() == 1
