"""The customer's side in a real browser whose zone differs from the host's: the page opens on
the first day with free times, shows who and where, times in the browser's zone on the page,
the confirmation and the email; cancelling changes the heading; trailing slashes redirect."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client

from apps.bookings.models import Booking
from tests.bookings.factories import make_event_type
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.scheduling.factories import make_location, make_person, make_rule
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS
FREE_DAY = date.today() + timedelta(days=4)  # the only weekday with availability
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


@pytest.fixture
def event(org):
    location = make_location(org, name="Berlin office", tz="Europe/Berlin")
    person = make_person(org, location, username="host")
    make_rule(location, person, days_of_week=[FREE_DAY.isoweekday()], start_time=time(9), end_time=time(11))
    make_event_type(org, person, slug="visit", title="Site visit", location=location)
    return person


def expected_local(hour: int) -> str:
    return datetime.combine(FREE_DAY, time(hour), tzinfo=BERLIN).astimezone(NEW_YORK).strftime("%H:%M")


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_book_and_cancel_in_the_customers_own_zone(event, viewport):
    name = viewport["width"]
    with (
        asgi_server(server_env()) as server,
        browsing(server, None, viewport=viewport, timezone_id="America/New_York") as (context, page, errors),
    ):
        page.goto(f"{server.base_url}/book/host/visit/")  # README style: trailing slash
        page.wait_for_url("**timezone=America%2FNew_York**")
        assert page.locator("#tz-name").inner_text() == "America/New_York"
        assert page.locator("#host-name").inner_text() == event.name
        assert page.locator("#location-name").inner_text() == "Berlin office"
        # Opens on the first day with free times, not tomorrow.
        assert page.locator(".strip-day.current").get_attribute("data-date") == FREE_DAY.isoformat()
        first = expected_local(9)
        assert page.locator("label.time").first.inner_text().strip() == first
        screenshot(page, f"book-{name}")

        page.locator("label.time").first.click()
        page.fill("#id_attendee_name", "Ann")
        page.fill("#id_attendee_email", "ann@example.test")
        page.click("button:has-text('Book')")
        page.wait_for_selector("#booked-time")
        booked = page.locator("#booked-time").inner_text()
        assert booked.startswith(FREE_DAY.strftime("%a %-d %b %Y").replace(" 0", " ")) and f"{first} E" in booked
        screenshot(page, f"booked-{name}")
        booking = off_loop(lambda: Booking.objects.get())
        assert booking.timezone == "America/New_York"

        cancel_href = page.locator("a", has_text="Cancel").get_attribute("href")
        page.goto(server.base_url + "/book/" + cancel_href.split("/book/", 1)[1])  # PUBLIC_BASE_URL differs
        assert page.locator("h1").inner_text() == "Cancel your booking"
        page.click("button:has-text('Cancel booking')")
        page.wait_for_selector("h1:has-text('Booking cancelled')")
        assert page.locator("form button:has-text('Cancel booking')").count() == 0
        screenshot(page, f"cancelled-{name}")
        assert not errors, errors


def test_the_email_shows_the_customers_zone_and_a_readable_subject(event):
    start = datetime.combine(FREE_DAY, time(9), tzinfo=BERLIN)
    response = Client().post(
        "/book/host/visit",
        {
            "start_time": start.isoformat(),
            "attendee_name": "Ann",
            "attendee_email": "ann@example.test",
            "timezone": "America/New_York",
        },
    )
    assert response.status_code == 201
    message = next(m for m in mail.outbox if m.to == ["ann@example.test"])
    local = start.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    assert message.subject.startswith("Confirmed: Site visit, ") and "America/New_York" in message.subject
    assert local in message.subject and local in message.body and "+00:00" not in message.body


def test_public_urls_answer_with_and_without_a_trailing_slash(event):
    client = Client()
    assert client.get("/book/host/visit").status_code == 200
    response = client.get("/book/host/visit/?timezone=UTC")
    assert (response.status_code, response["Location"]) == (301, "/book/host/visit?timezone=UTC")
    assert client.get("/status/nope/").status_code == 301
    assert client.get("/status/nope").status_code == 404
    assert client.post("/book/host/visit/", {}).status_code == 308
