"""Bookings written to the host's Google calendar through the outbox delivery: insert on
confirm, patch on reschedule, delete on cancel; idempotent under redelivery; Google's
failures retried and never failing the booking."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from apps.bookings.models import Booking
from apps.calendars import services
from apps.calendars.models import BusyBlock, CalendarConnection, CalendarEventLink
from apps.calendars.tasks import write_booking, write_retry
from apps.events.models import Event
from apps.events.tasks import dispatch_event
from tests.bookings.factories import make_event_type
from tests.calendars.factories import make_connection
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date.today() + timedelta(days=5)
CAL = "primary@example.test"


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="cal-writer")
    make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=30)
    make_event_type(org, person, slug="intro", title="Intro call", location=location)
    return person


def at(hour, minute=0):
    return datetime.combine(DAY, time(hour, minute), tzinfo=BERLIN)


def book(start, key="k1"):
    body = {"start_time": start.isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test"}
    response = APIClient().post("/v1/book/cal-writer/intro", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return response.json()


def test_confirm_inserts_reschedule_patches_cancel_deletes(org, host, google):
    make_connection(host.membership, google=google)
    booked = book(at(9))
    events = google.live_events(CAL)
    assert len(events) == 1
    event = events[0]
    assert event["summary"] == "Intro call: Ann"
    assert event["attendees"] == [{"email": "ann@example.test", "displayName": "Ann"}]
    assert event["location"] == "Main" and booked["id"] in event["description"]
    assert "/admin/bookings/booking/" in event["description"]
    # the attendee's manage links, the same ones their confirmation email carries
    assert f"Cancel: {booked['cancel_url']}" in event["description"]
    assert f"Reschedule: {booked['reschedule_url']}" in event["description"]
    assert datetime.fromisoformat(event["start"]["dateTime"]) == at(9)
    link = CalendarEventLink.objects.get(booking_id=booked["id"])
    assert link.state == "synced" and link.google_event_id == event["id"] and link.etag

    token = booked["cancel_url"].split("/")[-2]
    moved = APIClient().post(f"/v1/book/manage/{token}/reschedule", {"start_time": at(11).isoformat()}, format="json")
    assert moved.status_code == 200, moved.content
    events = google.live_events(CAL)
    assert len(events) == 1 and datetime.fromisoformat(events[0]["start"]["dateTime"]) == at(11)
    assert events[0]["sequence"] >= 1

    cancelled = APIClient().post(f"/v1/book/manage/{token}/cancel", {"reason": "busy"}, format="json")
    assert cancelled.status_code == 200
    assert google.live_events(CAL) == []
    assert CalendarEventLink.objects.get(booking_id=booked["id"]).state == "deleted"
    assert google.calls("/events", "POST") == 1  # one insert for the booking's whole life


def test_redelivery_never_creates_a_second_event(org, host, google):
    make_connection(host.membership, google=google)
    booked = book(at(10))
    assert len(google.live_events(CAL)) == 1
    # the outbox hands the same events over again (a relay duplicate, a redelivery)
    for event in Event.objects.filter(type__startswith="booking."):
        Event.objects.filter(pk=event.pk).update(dispatched_at=None)
        dispatch_event(str(event.pk))
    write_booking(booked["id"])
    assert len(google.live_events(CAL)) == 1
    assert google.calls("/events", "POST") == 1

    # a lost reply: the event exists in Google but our link was never marked synced
    CalendarEventLink.objects.filter(booking_id=booked["id"]).update(state="pending")
    assert write_booking(booked["id"]) == "synced"  # insert answers 409 → patched instead
    assert len(google.live_events(CAL)) == 1


def test_google_errors_are_retried_and_never_fail_the_booking(org, host, google):
    connection = make_connection(host.membership, google=google)
    google.fail("POST", "/events", 503, 429)  # the client's own retries absorb these
    book(at(9), key="a")
    assert len(google.live_events(CAL)) == 1

    # Google down for longer than every retry: the booking still succeeds
    google.fail("POST", "/events", *[500] * 40)
    booked = book(at(10), key="b")
    assert Booking.objects.get(pk=booked["id"]).status == "confirmed"
    link = CalendarEventLink.objects.get(booking_id=booked["id"])
    assert link.state == "failed" and link.attempts >= 1 and "500" in link.last_error
    connection.refresh_from_db()
    assert "Writing booking" in connection.last_error

    google.failures.clear()  # Google is back: the retry sweep finishes the write
    CalendarEventLink.objects.filter(pk=link.pk).update(updated_at=link.updated_at - timedelta(minutes=10))
    assert write_retry() == 1
    assert CalendarEventLink.objects.get(pk=link.pk).state == "synced"
    assert len(google.live_events(CAL)) == 2


def test_revoked_grant_skips_writes_and_asks_for_reconsent(org, host, google):
    connection = make_connection(host.membership, google=google)
    google.revoke_all()
    booked = book(at(9))
    assert Booking.objects.get(pk=booked["id"]).status == "confirmed"
    assert google.live_events(CAL) == []
    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.NEEDS_RECONSENT


def test_no_connection_no_write(org, host, google):
    booked = book(at(9))
    assert services.booking_event_sync(booking_id=booked["id"]) == "skipped"
    assert google.requests == []


def test_a_booking_moved_over_its_old_time_does_not_clash_with_its_own_google_copy(org, host, google):
    make_event_type(org, host, slug="long", title="Long call", duration_minutes=60)
    connection = make_connection(host.membership, google=google)
    body = {"start_time": at(9).isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test"}
    booked = APIClient().post("/v1/book/cal-writer/long", body, format="json", HTTP_IDEMPOTENCY_KEY="long")
    assert booked.status_code == 201, booked.content
    # the next busy refresh sees the booking's event (09:00–10:00) in Google's free/busy answer …
    assert services.connection_sync(connection_id=connection.pk) == "active"
    assert not BusyBlock.objects.filter(membership=host.membership).exists()  # … as our own, not foreign
    token = booked.json()["cancel_url"].split("/")[-2]
    # … so moving it half an hour later (overlapping its old time) is no clash with itself
    moved = APIClient().post(
        f"/v1/book/manage/{token}/reschedule", {"start_time": at(9, 30).isoformat()}, format="json"
    )
    assert moved.status_code == 200, moved.content
    events = google.live_events(CAL)
    assert len(events) == 1 and datetime.fromisoformat(events[0]["start"]["dateTime"]) == at(9, 30)
