"""Issue 11's "seen" items, each reproduced: schedule entries block bookings, an expired hold
never blocks nor shows as held, conflicts come from the one free/busy query (not from guessed
booking field names), and on-call shifts put people on duty without occupying them."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.bookings.models import Booking
from apps.orgs.models import Role
from apps.scheduling import freebusy
from apps.scheduling.models import ScheduleEntry
from tests.bookings.factories import make_booking, make_event_type
from tests.conftest import key_client
from tests.scheduling.factories import make_location, make_person, make_rule, make_slot

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date.today() + timedelta(days=6)


def at(hour, minute=0, day=DAY):
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="dr-time")
    make_rule(location, person, start_time=time(8), end_time=time(17), slot_granularity_minutes=30)
    make_event_type(org, person, slug="intro", duration_minutes=30)
    return person


def _slots(day=DAY):
    body = APIClient().get(f"/v1/slots/dr-time/intro?date={day.isoformat()}").json()
    return {datetime.fromisoformat(s["start"]).astimezone(BERLIN).strftime("%H:%M") for s in body["slots"]}


def _book(start, key="k"):
    body = {"start_time": start.isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test"}
    return APIClient().post("/v1/book/dr-time/intro", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _entry(org, make_member, host, start, end, **extra):
    scheduler = key_client(make_member(org, Role.SCHEDULER))
    body = {
        "title": "Site visit",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "assignee_ids": [str(host.membership_id)],
        **extra,
    }
    return scheduler.post("/v1/schedule-entries", body, format="json")


def test_a_schedule_entry_blocks_the_slots_inside_it(org, host, make_member):
    assert {"10:00", "11:00", "12:30"} <= _slots()
    created = _entry(org, make_member, host, at(10), at(13))
    assert created.status_code == 201, created.content
    left = _slots()
    assert not {"10:00", "10:30", "11:00", "11:30", "12:00", "12:30"} & left
    assert {"09:30", "13:00"} <= left
    refused = _book(at(11))
    assert refused.status_code == 409, refused.content
    assert not Booking.objects.filter(person=host).exists()


def test_a_recurring_entry_blocks_every_occurrence(org, host, make_member):
    created = _entry(org, make_member, host, at(9), at(10), rrule="FREQ=DAILY;COUNT=10")
    assert created.status_code == 201, created.content
    assert "09:00" not in _slots() and "09:00" not in _slots(DAY + timedelta(days=1))
    assert _book(at(9, 30, DAY + timedelta(days=2))).status_code == 409


def test_an_on_call_shift_blocks_nothing_and_puts_on_duty(org, host, make_member):
    created = _entry(org, make_member, host, at(18), at(23), kind="on_call")
    assert created.status_code == 201, created.content
    assert created.json()["kind"] == "on_call"
    assert {"10:00", "16:30"} <= _slots()
    times = freebusy.free_busy(org=org, start=at(0), end=at(23, 59), people=[host])[host.pk]
    assert times.on_duty(at(20)) and times.on_duty(at(9)) and not times.on_duty(at(7))
    assert not times.is_busy(at(18), at(19))
    assert times.is_free(at(19), at(20))


def test_the_reverse_still_holds_an_entry_clashing_with_a_booking_is_409(org, host, make_member):
    assert _book(at(10)).status_code == 201
    clash = _entry(org, make_member, host, at(9, 45), at(10, 15))
    assert clash.status_code == 409 and clash.json()["code"] == "SCHEDULE_CONFLICT"
    assert clash.json()["conflicts"][0]["kind"] == "booking"
    assert not ScheduleEntry.objects.filter(org=org).exists()


def test_an_expired_hold_never_blocks_a_booking_and_reads_show_it_expired(org, host, make_member):
    slot = make_slot(host.location, host, start=at(9))
    hold = make_booking(slot, status="held")
    Booking.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    assert "09:00" in _slots()  # offered: the hold is over, the minutely job has not run
    booked = _book(at(9))
    assert booked.status_code == 201, booked.content
    hold.refresh_from_db()
    assert hold.status == "expired"  # the booking path expired it under the person lock


def test_reads_show_an_overdue_hold_as_expired(org, host, make_member):
    slot = make_slot(host.location, host, start=at(9), capacity=1)
    hold = make_booking(slot, status="held")
    Booking.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    frontdesk = key_client(make_member(org, Role.FRONTDESK))
    listed = frontdesk.get("/admin/v1/bookings").json()["results"]
    assert [b["status"] for b in listed if b["id"] == str(hold.pk)] == ["expired"]
    exposed = frontdesk.get(
        f"/v1/slots?location_id={host.location_id}&person_id={host.pk}&date={slot.date.isoformat()}",
        HTTP_X_EXPOSURE_VARIANT="all",
    ).json()
    assert [s["remaining"] for s in exposed["slots"] if s["id"] == str(slot.pk)] == [1]
    hold.refresh_from_db()
    assert hold.status == "held"  # reads derive; they never write


def test_any_registered_busy_source_blocks_slots_and_entries(org, host, make_member):
    """Busy time reaches slots and entry checks only through the registry (the old seam
    guessed booking field names and swallowed FieldError): a new source needs no change here."""
    assert "booking" in freebusy.busy_sources()

    def outside(*, org, people, start, end):
        return {p.pk: [freebusy.Interval(at(14), at(15), "outside", ref="ext-1", title="Dentist")] for p in people}

    freebusy.register_busy_source("outside", outside)
    try:
        assert not {"14:00", "14:30"} & _slots() and "15:00" in _slots()
        clash = _entry(org, make_member, host, at(14, 30), at(16))
        assert clash.status_code == 409
        assert clash.json()["conflicts"][0] | {"kind": "outside", "id": "ext-1"} == clash.json()["conflicts"][0]
    finally:
        freebusy._SOURCES.pop("outside")


def test_conflicts_endpoint_reports_an_entry_against_a_booking(org, host, make_member):
    assert _book(at(10)).status_code == 201
    forced = _entry(org, make_member, host, at(9, 45), at(10, 15), force=True)
    assert forced.status_code == 201
    scheduler = key_client(make_member(org, Role.SCHEDULER))
    found = scheduler.get(
        f"/v1/schedule-conflicts?start={at(0).isoformat()}&end={at(23).isoformat()}".replace("+", "%2B")
    ).json()
    kinds = sorted({found["results"][0]["a"]["kind"], found["results"][0]["b"]["kind"]})
    assert found["count"] == 1 and kinds == ["booking", "schedule_entry"]
