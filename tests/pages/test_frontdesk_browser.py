"""Frontdesk in a real browser: filter the bookings by attendee email (blind index), cancel
one from the page; event types listed with their public links."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from apps.bookings.models import Booking
from apps.orgs.models import Role
from tests.bookings.factories import make_event_type
from tests.browser import ARGS, BROWSER_TEST_MARKS, CHROMIUM, off_loop, screenshot
from tests.scheduling.factories import make_location, make_person, make_rule
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS
DAY = date.today() + timedelta(days=3)
BERLIN = ZoneInfo("Europe/Berlin")


def book(hour, email):
    start = datetime.combine(DAY, time(hour), tzinfo=BERLIN).isoformat()
    response = Client().post(
        "/book/host/visit", {"start_time": start, "attendee_name": email.split("@")[0], "attendee_email": email}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_frontdesk_finds_a_booking_by_email_and_cancels_it(org, make_member, viewport):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    org.timezone = "Europe/Berlin"
    org.save()
    location = make_location(org, name="Berlin office", tz="Europe/Berlin")
    person = make_person(org, location, username="host")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="visit", title="Site visit", location=location)
    book(9, "ann@example.test")
    book(10, "bob@example.test")
    scheduler = make_member(org, Role.SCHEDULER)
    django_client = Client()
    django_client.force_login(scheduler.user)
    session_cookie = django_client.cookies["sessionid"].value

    with asgi_server(server_env()) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport=viewport)
            context.add_cookies([{"name": "sessionid", "value": session_cookie, "url": server.base_url}])
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server.base_url}/frontdesk/?org={org.slug}")
            assert page.locator("tbody tr").count() == 2
            assert "/book/host/visit" in page.locator(".event-types").inner_text()
            assert "09:00 CET" in page.locator("tbody").inner_text()
            screenshot(page, f"frontdesk-{viewport['width']}")
            page.fill("input[name=email]", "bob@example.test")
            page.click("button:has-text('Filter')")
            page.wait_for_url("**email=bob%40example.test**")
            assert page.locator("tbody tr").count() == 1 and "bob" in page.locator("tbody").inner_text()
            page.click("button:has-text('Cancel')")
            page.wait_for_selector("text=Cancelled the booking of bob.")
            assert off_loop(lambda: Booking.objects.get(attendee_name="bob").status) == "cancelled"
            assert off_loop(lambda: Booking.objects.get(attendee_name="ann").status) == "confirmed"
            assert not errors, errors
        finally:
            browser.close()


def test_frontdesk_is_for_schedulers_and_reschedules(org, make_member):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="host")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="visit", title="Site visit")
    book(9, "ann@example.test")
    member = Client()
    member.force_login(make_member(org, Role.MEMBER).user)
    assert member.get(f"/frontdesk/?org={org.slug}").status_code == 403
    scheduler = Client()
    scheduler.force_login(make_member(org, Role.SCHEDULER).user)
    booking = Booking.objects.get()
    response = scheduler.post(
        f"/frontdesk/?org={org.slug}",
        {"booking_id": str(booking.pk), "action": "reschedule", "new_start": f"{DAY.isoformat()}T11:00"},
    )
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert booking.start_at.astimezone(ZoneInfo(org.timezone)).hour == 11 or booking.rescheduled_from_id
    assert scheduler.post(f"/frontdesk/?org={org.slug}", {"booking_id": "nope", "action": "cancel"}).status_code == 404
