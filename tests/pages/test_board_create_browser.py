"""A dispatcher's day on the board in a real browser: create an incident from the form, find
it by search, see "N of M", and see it in the war room."""

import pytest
from django.test import Client

from apps.incidents import views
from apps.incidents.models import Incident
from apps.orgs.models import Role
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.conftest import key_client
from tests.incidents.factories import make_incident
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_create_an_incident_from_the_board_and_see_it_in_the_war_room(org, make_member, viewport):
    org.timezone = "Europe/Berlin"
    org.save()
    scheduler = make_member(org, Role.SCHEDULER)
    tech = make_member(org, Role.MEMBER)
    tech.user.name = "Tina Tech"
    tech.user.save()
    key_client(scheduler).post("/v1/incidents", {"title": "Already open"}, format="json")
    name = viewport["width"]

    with (
        asgi_server(server_env()) as server,
        browsing(server, scheduler.user, viewport=viewport) as (context, page, errors),
    ):
        page.goto(f"{server.base_url}/incidents/?org={org.slug}")
        assert page.locator("#board-count").inner_text() == "1 of 1"
        page.click("text=New incident")
        page.fill("input[name=title]", "Lift stuck at Alexanderplatz")
        page.select_option("#new-incident select[name=priority]", "high")
        page.fill("textarea[name=description]", "Two people inside.")
        page.fill("input[name=location_name]", "Alexanderplatz 1")
        page.fill("input[name=lat]", "52.5219")
        page.fill("input[name=lng]", "13.4132")
        page.select_option("#new-incident select[name=assignee_ids]", [str(tech.pk)])
        page.click("text=Create incident")
        page.wait_for_selector("text=Incident created.")
        incident = off_loop(lambda: Incident.objects.get(title="Lift stuck at Alexanderplatz"))
        assert (incident.priority, incident.description, incident.lat) == ("high", "Two people inside.", 52.5219)
        assert off_loop(lambda: [m.pk for m in incident.assignees.all()]) == [tech.pk]
        row = page.locator(f"#incident-{incident.pk}")
        assert "High" in row.inner_text() and page.locator("#board-count").inner_text() == "2 of 2"
        assert "high" not in row.locator(".prio").inner_text()  # a label, not the raw value
        screenshot(page, f"board-{name}")

        # Search narrows the rows and is kept in the URL.
        page.fill("input[name=q]", "alexander")
        page.wait_for_function("document.getElementById('board-count').textContent === '1 of 1'", timeout=5_000)
        assert "q=alexander" in page.url and page.locator("text=Already open").count() == 0

        war = context.new_page()
        war.goto(f"{server.base_url}/incidents/war-room/?org={org.slug}")
        war.locator("#incident-rows", has_text="Lift stuck at Alexanderplatz").wait_for(timeout=5_000)
        screenshot(war, f"war-room-{name}")

        reassigned = off_loop(
            lambda: key_client(scheduler).post(
                f"/v1/incidents/{incident.pk}/assign", {"assignee_ids": [str(scheduler.pk)]}, format="json"
            )
        )
        assert reassigned.status_code == 200, reassigned.content
        detail = context.new_page()
        detail.goto(f"{server.base_url}/incidents/{incident.pk}/?org={org.slug}")
        activity = detail.locator(".activity").inner_text()
        assert "(was Tina Tech)" in activity and str(tech.pk) not in activity
        assert "CET" in detail.locator(".facts").inner_text()  # the org's zone, 24 h
        screenshot(detail, f"incident-detail-{name}")
        assert not errors, errors


def test_the_board_counts_and_shows_more_instead_of_truncating(org, make_member, monkeypatch):
    monkeypatch.setattr(views, "BOARD_PAGE", 5)
    scheduler = make_member(org, Role.SCHEDULER)
    client = Client()
    client.force_login(scheduler.user)
    api = key_client(scheduler)
    for i in range(views.BOARD_PAGE + 3):
        make_incident(org, title=f"Bulk {i}")
    api.post("/v1/incidents", {"title": "needle in the stack"}, format="json")
    html = client.get(f"/incidents/?org={org.slug}").content.decode()
    assert f"{views.BOARD_PAGE} of {views.BOARD_PAGE + 4}" in html and "Show more" in html
    html = client.get(f"/incidents/?org={org.slug}&limit={2 * views.BOARD_PAGE}").content.decode()
    assert f"{views.BOARD_PAGE + 4} of {views.BOARD_PAGE + 4}" in html and "Show more" not in html
    html = client.get(f"/incidents/?org={org.slug}&q=needle").content.decode()
    assert "1 of 1" in html and "needle in the stack" in html


def test_the_new_incident_form_answers_bad_input_with_the_form_and_members_cannot_create(org, make_member):
    scheduler = make_member(org, Role.SCHEDULER)
    client = Client()
    client.force_login(scheduler.user)
    response = client.post(f"/incidents/new?org={org.slug}", {"title": "", "priority": "nope", "lat": "91"})
    assert response.status_code == 400 and Incident.objects.count() == 0
    assert 'id="new-incident" open' in response.content.decode()
    member = Client()
    member.force_login(make_member(org, Role.MEMBER).user)
    response = member.post(f"/incidents/new?org={org.slug}", {"title": "x", "priority": "low"})
    assert response.status_code == 403 and Incident.objects.count() == 0
