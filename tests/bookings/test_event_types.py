"""Event types, host slots and public booking (person and team), confirmation links."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.bookings.emails import host_token
from apps.bookings.models import Booking
from apps.orgs.models import Role, TeamMember
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.factories import TeamFactory
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date.today() + timedelta(days=5)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="dr-who")
    make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=30)
    return person


def at(hour, minute=0, day=DAY):
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def book(client, path, start, key="k", **extra):
    body = {"start_time": start.isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test", **extra}
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_event_type_crud(org, host, make_member):
    admin = key_client(make_member(org, Role.MANAGER))
    body = {"person_id": str(host.pk), "slug": "consult", "title": "Consultation", "duration_minutes": 45}
    created = admin.post("/admin/v1/event-types", body, format="json")
    assert created.status_code == 201, created.content
    assert admin.post("/admin/v1/event-types", body, format="json").json()["code"] == "EVENT_TYPE_SLUG_TAKEN"
    both = admin.post(
        "/admin/v1/event-types", {**body, "slug": "x", "team_id": str(TeamFactory(org=org).pk)}, format="json"
    )
    assert both.status_code == 400
    patched = admin.patch(f"/admin/v1/event-types/{created.json()['id']}", {"capacity": 3}, format="json")
    assert patched.json()["capacity"] == 3
    assert (
        key_client(make_member(org, Role.FRONTDESK)).post("/admin/v1/event-types", body, format="json").status_code
        == 403
    )


def test_host_slots_minus_bookings_and_buffers(org, host):
    make_event_type(org, host, slug="intro", duration_minutes=30, buffer_after_minutes=30)
    public = APIClient()
    path = f"/v1/slots/dr-who/intro?date={DAY.isoformat()}"
    starts = [datetime.fromisoformat(s["start"]) for s in public.get(path).json()["slots"]]
    assert starts[0] == at(9) and len(starts) == 6  # 09:00 … 11:30, Berlin time
    assert book(public, "/v1/book/dr-who/intro", at(10)).status_code == 201
    after = {
        datetime.fromisoformat(s["start"]).astimezone(BERLIN).strftime("%H:%M")
        for s in public.get(path).json()["slots"]
    }
    # 10:00 is taken; 09:30 would run into it with the 30-minute buffer; 10:30 falls in its buffer.
    assert after == {"09:00", "11:00", "11:30"}
    again = book(public, "/v1/book/dr-who/intro", at(10), key="other")
    assert again.status_code == 409 and again.json()["code"] == "SLOT_FULL"
    outside = book(public, "/v1/book/dr-who/intro", at(13), key="late")
    assert outside.status_code == 409 and outside.json()["code"] == "SLOT_UNAVAILABLE"


def test_host_slots_in_the_callers_timezone(org, host):
    make_event_type(org, host, slug="intro")
    body = APIClient().get(f"/v1/slots/dr-who/intro?date={DAY.isoformat()}&timezone=America/New_York").json()
    assert body["timezone"] == "America/New_York"
    local = [datetime.fromisoformat(s["start"]).astimezone(ZoneInfo("America/New_York")) for s in body["slots"]]
    assert local and all(d.date() == DAY for d in local)
    assert APIClient().get(f"/v1/slots/dr-who/intro?date={DAY.isoformat()}&timezone=Nope").status_code == 400
    assert APIClient().get("/v1/slots/dr-who/intro?date=tomorrow").status_code == 400
    assert APIClient().get(f"/v1/slots/dr-who/nothing?date={DAY.isoformat()}").status_code == 404


def test_booking_sends_links_that_cancel_and_reschedule(org, host):
    make_event_type(org, host, slug="intro")
    public = APIClient()
    response = book(public, "/v1/book/dr-who/intro", at(9))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "confirmed"
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["ann@example.test", host.membership.user.email])
    to_attendee = next(m for m in mail.outbox if m.to == ["ann@example.test"])
    assert body["cancel_url"] in to_attendee.body and body["reschedule_url"] in to_attendee.body
    token = body["cancel_url"].split("/")[-2]
    moved = public.post(f"/v1/book/manage/{token}/reschedule", {"start_time": at(11).isoformat()}, format="json")
    assert moved.status_code == 200, moved.content
    assert datetime.fromisoformat(moved.json()["start_at"]) == at(11)
    cancelled = public.post(f"/v1/book/manage/{token}/cancel", {"reason": "busy"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    assert public.post("/v1/book/manage/forged/cancel", {}, format="json").status_code == 404
    missing_key = public.post("/v1/book/dr-who/intro", {"start_time": at(9).isoformat()}, format="json")
    assert missing_key.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_requires_confirmation_goes_pending_until_the_host_decides(org, host):
    make_event_type(org, host, slug="vip", requires_confirmation=True)
    public = APIClient()
    booking = book(public, "/v1/book/dr-who/vip", at(9)).json()
    assert booking["status"] == "pending"
    assert any(host.membership.user.email in m.to for m in mail.outbox)
    token = host_token(Booking.objects.get(pk=booking["id"]))
    assert public.post(f"/v1/book/host/{token}/confirm").json()["status"] == "confirmed"
    assert public.post(f"/v1/book/host/{token}/decline").json()["code"] == "BOOKING_NOT_PENDING"
    second = book(public, "/v1/book/dr-who/vip", at(10), key="2").json()
    token = host_token(Booking.objects.get(pk=second["id"]))
    assert public.post(f"/v1/book/host/{token}/decline").json()["status"] == "declined"
    assert public.post("/v1/book/host/bad-token/confirm").status_code == 404


def test_only_the_host_or_staff_confirm_a_pending_booking(org, host, make_member):
    make_event_type(org, host, slug="vip", requires_confirmation=True)
    attendee = key_client(make_member(org, Role.MEMBER))
    booking = book(attendee, "/v1/book/dr-who/vip", at(9)).json()
    assert booking["status"] == "pending"
    confirm = f"/v1/bookings/{booking['id']}/confirm"
    refused = attendee.post(confirm, HTTP_IDEMPOTENCY_KEY="c1")
    assert refused.status_code == 403 and refused.json()["code"] == "HOST_APPROVAL_REQUIRED"
    assert Booking.objects.get(pk=booking["id"]).status == "pending"
    frontdesk = key_client(make_member(org, Role.FRONTDESK))
    assert frontdesk.post(confirm, HTTP_IDEMPOTENCY_KEY="c2").json()["status"] == "confirmed"


def test_team_round_robin_spreads_bookings(org):
    location = make_location(org, tz="Europe/Berlin")
    team = TeamFactory(org=org, slug="night")
    people = []
    for name in ("alice", "bob"):
        person = make_person(org, location, username=name)
        make_rule(location, person, start_time=time(9), end_time=time(12))
        TeamMember.objects.create(org=org, team=team, membership=person.membership)
        people.append(person)
    make_event_type(org, team=team, slug="triage")
    public = APIClient()
    path = f"/v1/book/{org.slug}/night/triage"
    hosts = [book(public, path, at(9), key=str(n)).json()["person_id"] for n in range(2)]
    assert sorted(hosts) == sorted(str(p.pk) for p in people)  # both busy at 9 now
    full = book(public, path, at(9), key="third")
    assert full.status_code == 409
    later = book(public, path, at(10), key="fourth").json()["person_id"]
    assert later == hosts[0]  # least recently assigned goes next
    slots = public.get(f"/v1/slots/{org.slug}/night/triage?date={DAY.isoformat()}").json()["slots"]
    times = {datetime.fromisoformat(s["start"]).astimezone(BERLIN).strftime("%H:%M"): s["seats_left"] for s in slots}
    assert "09:00" not in times and times["10:00"] == 1 and times["11:00"] == 2


@pytest.mark.parametrize("n_bookings", [10, 200])
def test_host_slot_queries_are_constant(org, host, n_bookings, django_assert_max_num_queries):
    event_type = make_event_type(org, host, slug="intro", capacity=1000)
    rows = [
        Booking(
            org=org,
            event_type=event_type,
            person=host,
            start_at=at(9),
            end_at=at(9, 30),
            seat_group=f"et:{event_type.pk}:{at(9).isoformat()}",
            status="confirmed",
            attendee_name=f"g{i}",
        )
        for i in range(n_bookings)
    ]
    Booking.objects.bulk_create(rows)
    client = APIClient()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/v1/slots/dr-who/intro?date={DAY.isoformat()}")
    assert response.status_code == 200
    # one query per registered busy source (bookings; Google Calendar's cached busy blocks)
    assert len(ctx.captured_queries) <= 5, [q["sql"][:120] for q in ctx.captured_queries]


def test_minimum_notice_window_and_daily_limit(org, host):
    make_event_type(org, host, slug="limited", per_day_limit=1, booking_window_days=2)
    public = APIClient()
    far = (DAY + timedelta(days=30)).isoformat()
    assert public.get(f"/v1/slots/dr-who/limited?date={far}").json()["slots"] == []
    assert book(public, "/v1/book/dr-who/limited", at(9, day=DAY + timedelta(days=30))).status_code == 409
    make_event_type(org, host, slug="daily", per_day_limit=1)
    assert book(public, "/v1/book/dr-who/daily", at(9), key="d1").status_code == 201
    assert public.get(f"/v1/slots/dr-who/daily?date={DAY.isoformat()}").json()["slots"] == []
    make_event_type(org, host, slug="notice", minimum_notice_minutes=60 * 24 * 30)
    assert public.get(f"/v1/slots/dr-who/notice?date={DAY.isoformat()}").json()["slots"] == []
