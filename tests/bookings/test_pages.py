"""Public booking pages: book, see the links, cancel and reschedule from them, host decision."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client

from apps.bookings.emails import host_token
from apps.bookings.models import Booking
from tests.bookings.factories import make_event_type
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date.today() + timedelta(days=4)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def page(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="host")
    make_rule(location, person, start_time=time(9), end_time=time(11))
    make_event_type(org, person, slug="chat", title="Quick chat")
    return f"/book/host/chat?date={DAY.isoformat()}"


def test_book_then_cancel_from_the_link(page):
    client = Client()
    html = client.get(page).content.decode()
    assert "Quick chat" in html and "> 09:00</label>" in html
    partial = client.get(page, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "> 09:30</label>" in partial
    start = datetime.combine(DAY, time(9, 30), tzinfo=BERLIN).isoformat()
    response = client.post(page, {"start_time": start, "attendee_name": "Ann", "attendee_email": "ann@example.test"})
    assert response.status_code == 201
    booked = response.content.decode()
    cancel_url = next(line for line in mail.outbox[0].body.splitlines() if line.startswith("Cancel:")).split(" ")[1]
    path = cancel_url.split("127.0.0.1:8000")[-1]
    assert path in booked
    assert "> 09:30</label>" not in client.get(page).content.decode()
    assert client.get(path).status_code == 200
    done = client.post(path, {"reason": "sorry"})
    assert done.status_code == 200 and Booking.objects.get().status == "cancelled"


def test_reschedule_from_the_link_and_errors(page):
    client = Client()
    start = datetime.combine(DAY, time(9), tzinfo=BERLIN).isoformat()
    client.post(page, {"start_time": start, "attendee_name": "Ann", "attendee_email": "ann@example.test"})
    taken = client.post(page, {"start_time": start, "attendee_name": "Bob", "attendee_email": "bob@example.test"})
    assert taken.status_code == 409
    bad = client.post(page, {"start_time": "soon", "attendee_name": "", "attendee_email": "x"})
    assert bad.status_code == 400
    reschedule = [line for line in mail.outbox[0].body.splitlines() if line.startswith("Reschedule:")][0]
    path = reschedule.split("127.0.0.1:8000")[-1]
    assert "> 10:00</label>" in client.get(f"{path}?date={DAY.isoformat()}").content.decode()
    new = datetime.combine(DAY, time(10), tzinfo=BERLIN).isoformat()
    assert client.post(path, {"start_time": new}).status_code == 200
    assert Booking.objects.get().start_at == datetime.combine(DAY, time(10), tzinfo=BERLIN)
    assert client.post(path, {"start_time": "garbage"}).status_code == 400
    assert client.get("/book/manage/forged/cancel").status_code == 404


def test_host_confirms_from_the_email(org, page):
    Booking.objects.all().delete()
    from apps.bookings.models import EventType

    EventType.objects.update(requires_confirmation=True)
    client = Client()
    start = datetime.combine(DAY, time(9), tzinfo=BERLIN).isoformat()
    client.post(page, {"start_time": start, "attendee_name": "Ann", "attendee_email": "ann@example.test"})
    booking = Booking.objects.get()
    assert booking.status == "pending"
    url = f"/book/host/{host_token(booking)}/confirm"
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 200
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert client.post(url).status_code == 409
