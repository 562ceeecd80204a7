"""The calendar in a real browser: select a range to create a weekly entry through the pattern
builder, see its instances, open one and delete "this and the following"; bookings read-only."""

from datetime import UTC, datetime

import pytest

from apps.orgs.models import Role
from apps.scheduling.models import ScheduleEntry
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.conftest import key_client
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def select_range(page, date: str, start: str, end: str):
    page.locator(f"td.fc-timegrid-slot-lane[data-time='{end}']").scroll_into_view_if_needed()
    page.locator(f"td.fc-timegrid-slot-lane[data-time='{start}']").scroll_into_view_if_needed()
    column = page.locator(f"td.fc-timegrid-col[data-date='{date}']").bounding_box()
    top = page.locator(f"td.fc-timegrid-slot-lane[data-time='{start}']").bounding_box()
    bottom = page.locator(f"td.fc-timegrid-slot-lane[data-time='{end}']").bounding_box()
    x = column["x"] + column["width"] / 2
    page.mouse.move(x, top["y"] + 3)
    page.mouse.down()
    page.mouse.move(x, top["y"] + 10, steps=3)
    page.mouse.move(x, bottom["y"] + bottom["height"] - 3, steps=10)
    page.mouse.up()


@pytest.mark.parametrize(
    "viewport", [{"width": 1400, "height": 1600}, {"width": 430, "height": 1400}], ids=["desktop", "phone"]
)
def test_create_a_weekly_entry_then_delete_this_and_following(org, make_member, viewport):
    scheduler = make_member(org, Role.SCHEDULER)
    tech = make_member(org, Role.MEMBER)
    view = "timeGridWeek" if viewport["width"] > 800 else "timeGridDay"

    with (
        asgi_server(server_env()) as server,
        browsing(server, scheduler.user, viewport=viewport, timezone_id="UTC") as (context, page, errors),
    ):
        page.goto(f"{server.base_url}/schedule/?org={org.slug}&date=2026-03-02&view={view}")
        page.wait_for_selector("#schedule-empty:not([hidden])")  # the empty state says how to start
        # Evening shifts are visible: the grid is the full day by default, 24 h labels.
        assert page.locator("td.fc-timegrid-slot-lane[data-time='21:00:00']").count() == 1
        assert page.locator(".fc-timegrid-slot-label", has_text="21:00").count() >= 1
        screenshot(page, f"calendar-empty-{viewport['width']}")

        select_range(page, "2026-03-02", "18:00:00", "19:00:00")  # through the 19:00 slot: ends 19:30
        page.wait_for_selector("#entry-dialog[open]", timeout=5_000)
        page.fill("#entry-title", "Night patrol")
        page.select_option("#entry-assignees", [str(tech.pk)])
        page.check("#repeat-on")
        page.check("input[name=byday][value=WE]")
        page.select_option("#repeat-end", "count")
        page.fill("#repeat-count", "6")
        assert page.locator("#repeat-rrule").inner_text() == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"
        screenshot(page, f"calendar-new-entry-{viewport['width']}")
        page.click("#entry-save")
        page.wait_for_selector("#entry-dialog", state="hidden")
        entry = off_loop(lambda: ScheduleEntry.objects.get(title="Night patrol"))
        assert set(entry.rrule.split(";")) == {"FREQ=WEEKLY", "BYDAY=MO,WE", "COUNT=6"}
        # The grid is in the org's zone (Europe/Berlin, UTC+1 in March), not the browser's (UTC).
        assert (entry.start, entry.end) == (
            datetime(2026, 3, 2, 17, tzinfo=UTC),
            datetime(2026, 3, 2, 18, 30, tzinfo=UTC),
        )
        page.locator(".fc-event", has_text="Night patrol").first.wait_for(timeout=10_000)
        if view == "timeGridWeek":
            assert page.locator(".fc-event", has_text="Night patrol").count() == 2  # Mon and Wed
        screenshot(page, f"calendar-week-{viewport['width']}")

        # Next week: open the Monday instance and delete it and the following ones.
        page.goto(f"{server.base_url}/schedule/?org={org.slug}&date=2026-03-09&view={view}")
        page.locator(".fc-event", has_text="Night patrol").first.click()
        page.wait_for_selector("#entry-dialog[open]")
        page.click("#entry-delete")
        page.click("#scope-future")
        page.wait_for_selector("#entry-dialog", state="hidden")
        page.wait_for_function("!document.querySelector('.fc-event')", timeout=10_000)
        api = off_loop(key_client, scheduler)
        listed = off_loop(
            lambda: api.get("/v1/schedule-entries?start=2026-03-01T00:00:00Z&end=2026-04-01T00:00:00Z").json()
        )
        starts = sorted(i["start"] for i in listed["results"] if i["title"] == "Night patrol")
        assert starts == ["2026-03-02T17:00:00Z", "2026-03-04T17:00:00Z"], starts
        assert not errors, errors
