"""The daily schedule board in a real browser: drag unassigned work onto a person; then
optimize (progress, proposal), accept, publish — each step saved through the API's rev."""

from django.test import Client

from apps.planning.models import DailySchedule
from apps.scheduling.models import ScheduleEntry
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop
from tests.factories import MembershipFactory
from tests.planning.factories import BERLIN, make_incident
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def test_page_renders_for_frontdesk_and_refuses_members(plan):
    schedule = DailySchedule.objects.create(org=plan.org, date=plan.day)
    plan.incident(title="Visible job")
    for role, expected in (("frontdesk", 200), ("member", 403)):
        client = Client()
        client.force_login(MembershipFactory(org=plan.org, role=role).user)
        response = client.get(f"/planning/{plan.day.isoformat()}/")
        assert response.status_code == expected
        if expected == 200:
            html = response.content.decode()
            assert "Visible job" in html and f'data-rev="{schedule.rev}"' in html
            assert 'draggable="true"' not in html  # frontdesk reads only
    client = Client()
    client.force_login(MembershipFactory(org=plan.org, role="scheduler").user)
    assert client.get("/planning/2026-13-40/").status_code == 404
    partial = client.get(f"/planning/{plan.day.isoformat()}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="board"')


def test_drag_then_optimize_accept_publish(plan):
    dragged = make_incident(plan.org, title="Drag me", skills=["gas"])
    make_incident(plan.org, title="Optimize me", skills=["electric"])
    scheduler = MembershipFactory(org=plan.org, role="scheduler")
    DailySchedule.objects.create(org=plan.org, date=plan.day)

    with (
        asgi_server(server_env()) as server,
        browsing(server, scheduler.user, viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Berlin") as (
            context,
            page,
            errors,
        ),
    ):
        page.goto(f"{server.base_url}/planning/{plan.day.isoformat()}/?org={plan.org.slug}")

        # 1. drag the unassigned job onto the gas fitter's lane, around 10:00
        lane = page.locator(f".lane[data-person='{plan.gas.pk}']")
        box = lane.bounding_box()
        x = box["width"] * (10 - 6) / 15  # the lane spans 06:00–21:00
        page.drag_and_drop(
            f"li.demand[data-ref='incident:{dragged.pk}']",
            f".lane[data-person='{plan.gas.pk}']",
            target_position={"x": x, "y": box["height"] / 2},
        )
        page.locator(f".lane[data-person='{plan.gas.pk}'] .assignment").wait_for(timeout=10_000)
        assignment = off_loop(lambda: DailySchedule.objects.get(org=plan.org).assignments.get())
        assert (assignment.person_id, assignment.incident_id) == (plan.gas.pk, dragged.pk)
        assert assignment.start.astimezone(BERLIN).hour == 10
        assert page.locator("#schedule-rev").text_content() == "2"

        # 2. optimize: progress, then the proposal; accept it
        page.locator("#optimize").click()
        page.locator("#accept-proposal").wait_for(timeout=30_000)
        assert "Optimized" in page.locator("#optimize-status").text_content()
        assert page.locator("tr.proposed").count() == 2
        page.locator("#accept-proposal").click()
        page.wait_for_function("document.getElementById('schedule-rev').textContent === '3'", timeout=10_000)
        assert page.locator(".assignment").count() == 2

        # 3. publish: entries written for both people
        page.locator("#publish").click()
        page.wait_for_function(
            "document.getElementById('schedule-status').textContent.trim() === 'published'", timeout=10_000
        )
        entries = off_loop(lambda: ScheduleEntry.objects.filter(org=plan.org, incident__isnull=False).count())
        assert entries == 2
        assert not errors, errors
