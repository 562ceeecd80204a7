"""A real browser on the calendar: drag an entry to another day and see it saved; drag one
occurrence of a series, answer "only this one", and see an override; a change made through
the API elsewhere appears live over the org websocket."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.orgs.models import Role
from apps.scheduling.models import ScheduleEntry, ScheduleOverride
from tests.browser import ARGS, BROWSER_TEST_MARKS, CHROMIUM, off_loop
from tests.conftest import key_client
from tests.schedule.factories import make_entry
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS

MON = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def wait_for(predicate, page, timeout=10.0):
    deadline = datetime.now() + timedelta(seconds=timeout)
    while datetime.now() < deadline:
        value = off_loop(predicate)
        if value:
            return value
        page.wait_for_timeout(200)
    raise AssertionError("condition not met in time")


def drag(page, event_title: str, to_date: str):
    box = None
    for _ in range(20):  # the calendar re-renders after a refetch (entries + bookings sources)
        event = page.locator(".fc-timegrid-event", has_text=event_title).first
        event.wait_for(timeout=10_000)
        event.scroll_into_view_if_needed()
        box = event.bounding_box()
        if box:
            break
        page.wait_for_timeout(100)
    column = page.locator(f"td.fc-timegrid-col[data-date='{to_date}']").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 2, steps=3)
    page.mouse.move(column["x"] + column["width"] / 2, y, steps=15)
    page.mouse.up()


def test_drag_to_another_day_saves_and_changes_show_live(org, make_member):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    scheduler = make_member(org, Role.SCHEDULER)
    single = make_entry(org, title="Drag me", start=MON, end=MON + timedelta(hours=1), assignees=[scheduler])
    series = make_entry(
        org,
        title="Weekly round",
        start=MON + timedelta(hours=4),
        end=MON + timedelta(hours=5),
        rrule="FREQ=WEEKLY",
        timezone="UTC",
        assignees=[scheduler],
    )
    django_client = Client()
    django_client.force_login(scheduler.user)
    session_cookie = django_client.cookies["sessionid"].value
    api = key_client(scheduler)

    env = server_env()
    with asgi_server(env) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1600}, timezone_id="UTC")
            context.add_cookies([{"name": "sessionid", "value": session_cookie, "url": server.base_url}])
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server.base_url}/schedule/?org={org.slug}&date=2026-03-02&view=timeGridWeek")
            page.wait_for_function("document.getElementById('ws-status').textContent === 'live'", timeout=10_000)

            # 1. a single entry: Monday → Tuesday, same time
            drag(page, "Drag me", "2026-03-03")
            moved = wait_for(lambda: ScheduleEntry.objects.get(pk=single.pk).start == MON + timedelta(days=1), page)
            assert moved
            assert off_loop(lambda: ScheduleEntry.objects.get(pk=single.pk).end) == MON + timedelta(days=1, hours=1)

            # 2. one occurrence of a series: the page asks for the scope
            drag(page, "Weekly round", "2026-03-04")
            page.locator("#scope-single").click()
            override = wait_for(lambda: ScheduleOverride.objects.filter(master=series).first(), page)
            assert override.original_start == MON + timedelta(hours=4)
            assert override.start == MON + timedelta(days=2, hours=4)
            assert off_loop(lambda: ScheduleEntry.objects.get(pk=series.pk).start) == MON + timedelta(hours=4)

            # 3. live: an entry created through the API elsewhere appears without a reload
            page.evaluate("window.__noReload = true")
            response = off_loop(
                lambda: api.post(
                    "/v1/schedule-entries",
                    {"title": "Live one", "start": "2026-03-05T08:00:00Z", "end": "2026-03-05T09:00:00Z"},
                    format="json",
                )
            )
            assert response.status_code == 201
            page.locator(".fc-event", has_text="Live one").wait_for(timeout=10_000)
            assert page.evaluate("window.__noReload") is True
            assert not errors, errors
        finally:
            browser.close()
