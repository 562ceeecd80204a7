"""The calendar shows and creates times in the org's zone, whatever the browser's zone: an org in
Europe/Berlin seen from a browser in America/New_York (a 5 or 6 hour difference, and both zones
change to summer time on different days in March)."""

from datetime import UTC, datetime

from apps.orgs.models import Role
from apps.scheduling.models import ScheduleEntry
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.pages.test_calendar_create_browser import select_range
from tests.schedule.factories import make_entry
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def slot_top(page, time: str) -> float:
    return page.locator(f"td.fc-timegrid-slot-lane[data-time='{time}']").bounding_box()["y"]


def test_entries_show_and_are_created_in_the_org_zone(make_org, make_member):
    org = make_org(timezone="Europe/Berlin")
    scheduler = make_member(org, Role.SCHEDULER)
    # 09:00 in Berlin on Monday 23 March 2026 (CET, UTC+1) = 08:00 UTC = 04:00 in New York (EDT).
    make_entry(
        org,
        title="Morning briefing",
        start=datetime(2026, 3, 23, 8, 0, tzinfo=UTC),
        end=datetime(2026, 3, 23, 9, 0, tzinfo=UTC),
        assignees=[scheduler],
    )

    with (
        asgi_server(server_env()) as server,
        browsing(server, scheduler.user, viewport={"width": 1400, "height": 1600}, timezone_id="America/New_York") as (
            context,
            page,
            errors,
        ),
    ):
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
        page.goto(f"{server.base_url}/schedule/?org={org.slug}&date=2026-03-23&view=timeGridWeek")
        assert page.locator("#schedule-zone").inner_text() == "Europe/Berlin"
        event = page.locator(".fc-timegrid-event", has_text="Morning briefing").first
        event.wait_for(timeout=10_000)
        assert event.locator(".fc-event-time").inner_text().startswith("09:00"), event.inner_text()
        # It sits on Monday's column, in the 09:00 row (not 04:00, the browser's time).
        event.scroll_into_view_if_needed()
        column = page.locator("td.fc-timegrid-col[data-date='2026-03-23']").bounding_box()
        box = event.bounding_box()
        assert column["x"] <= box["x"] < column["x"] + column["width"]
        assert abs(box["y"] - slot_top(page, "09:00:00")) < 6, (box, slot_top(page, "09:00:00"))
        screenshot(page, "calendar-org-zone-week")

        # Sunday 29 March: Berlin moves to summer time at 02:00, so 14:00 there is 12:00 UTC.
        select_range(page, "2026-03-29", "14:00:00", "14:30:00")  # through the 14:30 slot: ends 15:00
        page.wait_for_selector("#entry-dialog[open]", timeout=5_000)
        assert "14:00–15:00" in page.locator("#entry-when").inner_text()
        page.fill("#entry-title", "Sunday cover")
        page.click("#entry-save")
        page.wait_for_selector("#entry-dialog", state="hidden")
        entry = off_loop(lambda: ScheduleEntry.objects.get(title="Sunday cover"))
        assert (entry.start, entry.end) == (
            datetime(2026, 3, 29, 12, 0, tzinfo=UTC),
            datetime(2026, 3, 29, 13, 0, tzinfo=UTC),
        )
        assert entry.timezone == "Europe/Berlin"
        created = page.locator(".fc-timegrid-event", has_text="Sunday cover").first
        created.wait_for(timeout=10_000)
        assert created.locator(".fc-event-time").inner_text().startswith("14:00")
        assert not errors, errors
