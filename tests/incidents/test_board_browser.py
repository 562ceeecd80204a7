"""A real browser on the incident board: a new incident created through the API by another
process appears on the open board, without a reload, via the org websocket + htmx."""

from apps.incidents.models import Incident
from apps.orgs.models import Role
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop
from tests.conftest import key_client
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def create_incident(api, title="Broken gate"):
    return off_loop(lambda: api.post("/v1/incidents", {"title": title, "priority": "urgent"}, format="json"))


def test_new_incident_appears_on_the_open_board(org, make_member):
    scheduler = make_member(org, Role.SCHEDULER)
    api = key_client(scheduler)
    api.post("/v1/incidents", {"title": "Already open"}, format="json")

    env = server_env()
    with (
        asgi_server(env) as server,
        browsing(server, scheduler.user, viewport={"width": 390, "height": 844}) as (context, page, errors),
    ):  # a phone
        page.goto(f"{server.base_url}/incidents/?org={org.slug}")
        assert page.locator("text=Already open").count() == 1
        page.wait_for_function("document.getElementById('ws-status').textContent === 'live'", timeout=10_000)
        page.evaluate("window.__noReload = true")

        response = create_incident(api)
        assert response.status_code == 201
        incident_id = response.json()["id"]
        row = page.locator(f"#incident-{incident_id}")
        row.wait_for(timeout=10_000)
        assert "Broken gate" in row.inner_text()
        assert "sla-ok" in row.get_attribute("class")
        assert page.evaluate("window.__noReload") is True, "the board reloaded instead of updating in place"
        # The SLA countdown is rendered client-side as soon as the row is swapped in.
        countdown = row.locator(".sla").inner_text()
        assert countdown.startswith(("59m", "1h 00m")), countdown

        # Inline status change: an htmx POST (with the CSRF header) through the services.
        row.locator("select[name=status]").select_option("in_progress")
        page.wait_for_function(
            f"document.querySelector('#incident-{incident_id} select[name=status] option').textContent"
            " === 'In Progress'",
            timeout=10_000,
        )
        assert off_loop(lambda: Incident.objects.get(pk=incident_id).status) == "in_progress"

        # Filters swap the rows in place.
        page.select_option("form.filters select[name=priority]", "urgent")
        page.wait_for_function("!document.body.innerText.includes('Already open')", timeout=10_000)
        assert row.is_visible()

        # The war room shows the same board plus the live event feed.
        war = context.new_page()
        war.goto(f"{server.base_url}/incidents/war-room/?org={org.slug}")
        war.wait_for_function("document.getElementById('ws-status').textContent === 'live'", timeout=10_000)
        create_incident(api, "Flooded basement")
        war.locator("#event-feed li", has_text="incident.created").first.wait_for(timeout=10_000)
        war.locator("#incident-rows", has_text="Flooded basement").wait_for(timeout=10_000)
        assert not errors, errors
