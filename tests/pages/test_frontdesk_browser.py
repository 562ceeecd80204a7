"""Frontdesk in a real browser: filter the bookings by attendee email (blind index), cancel
one from the page; event types listed with their public links."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from apps.bookings.models import Booking
from apps.orgs.models import Role
from tests.bookings.factories import make_event_type
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
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
    org.timezone = "Europe/Berlin"
    org.save()
    location = make_location(org, name="Berlin office", tz="Europe/Berlin")
    person = make_person(org, location, username="host")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="visit", title="Site visit", location=location)
    book(9, "ann@example.test")
    book(10, "bob@example.test")
    scheduler = make_member(org, Role.SCHEDULER)

    with (
        asgi_server(server_env()) as server,
        browsing(server, scheduler.user, viewport=viewport) as (context, page, errors),
    ):
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


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_frontdesk_reschedules_to_a_free_time_of_the_event_type(org, make_member, viewport):
    """Reschedule offers the event type's free times (the public reschedule page's slot query)
    on a date strip, in the org's zone, whatever the browser's; a taken time is not offered."""
    org.timezone = "Europe/Berlin"
    org.save()
    location = make_location(org, name="Berlin office", tz="Europe/Berlin")
    person = make_person(org, location, username="host")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="visit", title="Site visit", location=location)
    book(9, "ann@example.test")
    book(10, "bob@example.test")
    scheduler = make_member(org, Role.SCHEDULER)

    with (
        asgi_server(server_env()) as server,
        browsing(server, scheduler.user, viewport=viewport, timezone_id="America/New_York") as (context, page, errors),
    ):
        page.goto(f"{server.base_url}/frontdesk/?org={org.slug}&status=confirmed")
        assert page.locator("input[type=datetime-local]").count() == 0  # no raw datetime field
        page.click("a[aria-label='Reschedule the booking of ann']")
        panel = page.locator("#reschedule-panel")
        panel.locator("h2", has_text="Reschedule ann").wait_for(timeout=5_000)
        assert "reschedule=" in page.url and "status=confirmed" in page.url  # filters kept
        # Any date through the date field (a full page, the list's filters kept) ...
        panel.locator("input[name=move_date]").fill((DAY + timedelta(days=1)).isoformat())
        panel.locator("button", has_text="Show").click()
        page.wait_for_url(f"**move_date={(DAY + timedelta(days=1)).isoformat()}**")
        assert "status=confirmed" in page.url
        panel = page.locator("#reschedule-panel")
        # ... or a day of the strip (htmx, the panel alone).
        panel.locator(".strip-nav[aria-label='Earlier days']").click()
        panel.locator(f".strip-day[data-date='{DAY.isoformat()}']").wait_for(timeout=5_000)
        panel.locator(f".strip-day[data-date='{DAY.isoformat()}']").click()
        panel.locator(".day-heading", has_text=str(DAY.day)).wait_for(timeout=5_000)
        page.wait_for_function(
            f"document.querySelector('#reschedule-panel .strip-day.current')?.dataset.date === '{DAY.isoformat()}'"
        )
        times = [t.strip() for t in panel.locator("label.time").all_inner_texts()]
        # 30-minute visits starting every 15 minutes 09:00-11:30 Berlin (not New York): ann's
        # own 09:00 is free for her; nothing that overlaps bob's 10:00-10:30 is offered.
        assert times == ["09:00", "09:15", "09:30", "10:30", "10:45", "11:00", "11:15", "11:30"], times
        screenshot(page, f"frontdesk-reschedule-{viewport['width']}")
        panel.locator("label.time", has_text="11:00").click()
        panel.locator("button", has_text="Move booking").click()
        page.wait_for_selector("text=Moved the booking of ann")
        assert page.locator("#reschedule-panel section").count() == 0
        moved = off_loop(lambda: Booking.objects.get(attendee_name="ann"))
        assert moved.start_at == datetime.combine(DAY, time(11), tzinfo=BERLIN)
        assert moved.status == "confirmed"
        assert "11:00 CET" in page.locator(f"#booking-{moved.pk}").inner_text()
        assert not errors, errors


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
    url = f"/frontdesk/?org={org.slug}&reschedule={booking.pk}"
    page = scheduler.get(f"{url}&move_date={DAY.isoformat()}")
    assert page.status_code == 200
    body = page.content.decode()
    eleven = datetime.combine(DAY, time(11), tzinfo=BERLIN)
    assert f'value="{eleven.astimezone(UTC).isoformat()}"' in body and "Move booking" in body
    # A date further out than the strip: the "go to date" field asks for it the same way.
    far = DAY + timedelta(days=30)
    jumped = scheduler.get(f"{url}&move_date={far.isoformat()}").content.decode()
    assert f'name="move_date" value="{far.isoformat()}"' in jumped and f'data-date="{far.isoformat()}"' in jumped
    assert f'name="reschedule" value="{booking.pk}"' in jumped
    # The htmx partial is the panel alone.
    partial = scheduler.get(
        f"{url}&move_date={DAY.isoformat()}", headers={"HX-Request": "true", "HX-Target": "reschedule-panel"}
    )
    assert partial.status_code == 200 and b"<table" not in partial.content and b"Move booking" in partial.content
    # No time picked, or a made-up one: a clear error, nothing moved.
    missing = scheduler.post(url, {"booking_id": str(booking.pk), "action": "reschedule"})
    assert missing.status_code == 400 and "Pick one of the free times." in missing.content.decode()
    naive = scheduler.post(url, {"booking_id": str(booking.pk), "action": "reschedule", "start_time": f"{DAY}T11:00"})
    assert naive.status_code == 400
    booking.refresh_from_db()
    assert booking.start_at == datetime.combine(DAY, time(9), tzinfo=BERLIN)
    response = scheduler.post(
        url, {"booking_id": str(booking.pk), "action": "reschedule", "start_time": eleven.isoformat()}
    )
    assert response.status_code == 200, response.content
    booking.refresh_from_db()
    assert booking.start_at == eleven
    assert b"Moved the booking of ann" in response.content and b"reschedule-heading" not in response.content
    unknown = scheduler.get(f"/frontdesk/?org={org.slug}&reschedule=00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and b"Booking not found." in unknown.content
    assert scheduler.post(f"/frontdesk/?org={org.slug}", {"booking_id": "nope", "action": "cancel"}).status_code == 404
