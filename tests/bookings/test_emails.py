"""Lifecycle emails at the boundary: anymail's Mailjet backend posts to a local fake of
Mailjet's send API; each message is checked for recipients, subject (in the recipient's
zone), manage links and its iCalendar attachment (one UID, SEQUENCE rising)."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from rest_framework.test import APIClient

from apps.bookings.emails import host_token, host_token_booking_id
from apps.bookings.models import Booking
from apps.orgs.models import Role
from tests.bookings.factories import make_event_type
from tests.bookings.test_broker_outage import wait_for
from tests.conftest import key_client
from tests.fakes import FakeMailjet
from tests.scheduling.factories import make_location, make_person, make_rule, make_slot

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date.today() + timedelta(days=5)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def mailjet(settings):
    fake = FakeMailjet().start()
    settings.EMAIL_BACKEND = "anymail.backends.mailjet.EmailBackend"
    settings.ANYMAIL = {"MAILJET_API_KEY": "key", "MAILJET_SECRET_KEY": "secret", "MAILJET_API_URL": fake.url}
    yield fake
    fake.stop()


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="dr-who")
    make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=30)
    return person


def at(hour, minute=0):
    return datetime.combine(DAY, time(hour, minute), tzinfo=BERLIN)


def book(path, start, key="k", **extra):
    body = {"start_time": start.isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test", **extra}
    return APIClient().post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def calendar_of(message) -> icalendar.Event:
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "invite.ics" and attachment["content_type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(attachment["content"])
    (entry,) = cal.walk("VEVENT")
    entry.method = str(cal["METHOD"])
    return entry


def take(mailjet, to):
    message = next(m for m in mailjet.messages if m["to"] == [to])
    mailjet.messages.remove(message)
    return message


def test_the_whole_lifecycle_reaches_attendee_and_host(org, host, mailjet):
    make_event_type(org, host, slug="intro", title="Intro call")
    host_email = host.membership.user.email
    booked = book("/v1/book/dr-who/intro", at(9), timezone="America/New_York")
    assert booked.status_code == 201, booked.content
    urls = booked.json()

    confirmed = take(mailjet, "ann@example.test")
    assert (
        confirmed["subject"].startswith("Confirmed: Intro call, ")
        and "03:00–03:30 (America/New_York)" in confirmed["subject"]
    )
    assert urls["cancel_url"] in confirmed["text"] and urls["reschedule_url"] in confirmed["html"]
    first = calendar_of(confirmed)
    assert first.method == "REQUEST" and first["SEQUENCE"] == 1
    notice = take(mailjet, host_email)
    assert (
        notice["subject"].startswith("New booking: Ann — Intro call, ")
        and "09:00–09:30 (Europe/Berlin)" in notice["subject"]
    )
    assert urls["cancel_url"] not in notice["text"]  # manage links are the attendee's

    token = urls["cancel_url"].split("/")[-2]
    moved = APIClient().post(f"/v1/book/manage/{token}/reschedule", {"start_time": at(11).isoformat()}, format="json")
    assert moved.status_code == 200, moved.content
    rescheduled = take(mailjet, "ann@example.test")
    assert rescheduled["subject"].startswith("Rescheduled: Intro call, now ")
    assert "03:00–03:30 (America/New_York) to " in rescheduled["text"] and "05:00–05:30" in rescheduled["text"]
    second = calendar_of(rescheduled)
    assert second["UID"] == first["UID"] and second["SEQUENCE"] == 2 and second.method == "REQUEST"
    host_moved = take(mailjet, host_email)["text"]
    assert "09:00–09:30 (Europe/Berlin) to " in host_moved and "11:00–11:30 (Europe/Berlin)" in host_moved

    APIClient().post(f"/v1/book/manage/{token}/cancel", {"reason": "Feeling ill"}, format="json")
    cancelled = take(mailjet, "ann@example.test")
    assert cancelled["subject"].startswith("Cancelled: Intro call, ")
    assert "cancelled by the attendee" in cancelled["text"] and "Reason: Feeling ill" in cancelled["text"]
    third = calendar_of(cancelled)
    assert third.method == "CANCEL" and third["UID"] == first["UID"] and third["SEQUENCE"] == 3
    host_cancel = take(mailjet, host_email)
    assert host_cancel["subject"].startswith("Cancelled: Ann — Intro call") and "Feeling ill" in host_cancel["text"]
    assert mailjet.messages == []


def test_pending_then_confirmed_by_the_host_carries_the_manage_links(org, host, mailjet):
    make_event_type(org, host, slug="vip", title="VIP", requires_confirmation=True)
    booked = book("/v1/book/dr-who/vip", at(10)).json()
    requested = take(mailjet, "ann@example.test")
    assert requested["subject"].startswith("Requested: VIP, ") and "awaiting confirmation" in requested["subject"]
    ask = take(mailjet, host.membership.user.email)
    assert ask["subject"].startswith("Please confirm: Ann — VIP")
    links = re.findall(r"/book/host/([^/\s]+)/(confirm|decline)", ask["text"])
    assert {decision for _token, decision in links} == {"confirm", "decline"}
    assert {host_token_booking_id(t) for t, _d in links} == {booked["id"]}  # signed for this booking
    token = host_token(Booking.objects.get(pk=booked["id"]))
    assert APIClient().post(f"/v1/book/host/{token}/confirm").json()["status"] == "confirmed"
    confirmed = take(mailjet, "ann@example.test")
    assert confirmed["subject"].startswith("Confirmed: VIP")
    assert booked["cancel_url"] in confirmed["text"] and booked["reschedule_url"] in confirmed["text"]
    assert calendar_of(confirmed)["STATUS"] == "CONFIRMED"


def test_declined_and_cancelled_by_staff(org, host, mailjet, make_member):
    make_event_type(org, host, slug="vip", title="VIP", requires_confirmation=True)
    first = book("/v1/book/dr-who/vip", at(10)).json()
    mailjet.messages.clear()
    token = host_token(Booking.objects.get(pk=first["id"]))
    APIClient().post(f"/v1/book/host/{token}/decline")
    (declined,) = mailjet.messages
    assert declined["to"] == ["ann@example.test"] and declined["subject"].startswith("Declined: VIP")
    assert calendar_of(declined).method == "CANCEL"

    make_event_type(org, host, slug="intro", title="Intro")
    second = book("/v1/book/dr-who/intro", at(11), key="2").json()
    mailjet.messages.clear()
    staff = key_client(make_member(org, Role.FRONTDESK))
    response = staff.patch(
        f"/admin/v1/bookings/{second['id']}", {"action": "cancel", "reason": "Room closed"}, format="json"
    )
    assert response.status_code == 200, response.content
    to_attendee = take(mailjet, "ann@example.test")
    assert "cancelled by staff" in to_attendee["text"] and "Room closed" in to_attendee["text"]


def test_a_hold_tells_the_attendee_until_when(org, mailjet, make_member):
    location = make_location(org, tz="Europe/Berlin")
    slot = make_slot(location, make_person(org, location))
    client = key_client(make_member(org, Role.FRONTDESK))
    held = client.post(
        "/v1/bookings",
        {"slot_id": str(slot.pk), "attendee_name": "Bo", "attendee_email": "bo@example.test"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="h1",
    )
    assert held.status_code == 201, held.content
    (message,) = mailjet.messages
    assert message["to"] == ["bo@example.test"] and message["subject"].startswith("Held for you: ")
    assert "until" in message["text"] and calendar_of(message)["STATUS"] == "TENTATIVE"


@pytest.mark.services
def test_mailjet_failing_is_retried_and_the_booking_succeeds(org, host, mailjet, celery_worker_thread):
    mailjet.fail_first = 2
    make_event_type(org, host, slug="intro")
    response = book("/v1/book/dr-who/intro", at(9))
    assert response.status_code == 201
    assert Booking.objects.get(pk=response.json()["id"]).status == "confirmed"
    assert wait_for(lambda: len(mailjet.messages) == 2, timeout=30)  # Celery's backoff: 1 s, then 2 s
    assert mailjet.failures == 2
    assert sorted(m["to"][0] for m in mailjet.messages) == sorted(["ann@example.test", host.membership.user.email])
    assert len(mailjet.requests) == 4  # two 500s answered, then both messages sent
