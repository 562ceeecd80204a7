"""A real browser: the war room shows a chain live (offer, countdown, then acknowledged),
and the phone-sized responder page acknowledges."""

from apps.dispatch import links, services
from apps.dispatch.models import Assignment
from apps.orgs.models import Role
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop
from tests.dispatch.factories import BASE, make_responder
from tests.incidents.factories import make_incident
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def test_war_room_follows_the_chain_and_the_responder_acknowledges(org, make_member):
    dispatcher = make_member(org, Role.SCHEDULER)
    make_responder(org, name="Rita Responder")
    incident = make_incident(org, title="Flooded basement", lat=BASE[0], lng=BASE[1])

    with (
        asgi_server(server_env()) as server,
        browsing(server, dispatcher.user, viewport={"width": 1280, "height": 800}) as (desk, room, errors),
    ):
        room.goto(f"{server.base_url}/dispatch/war-room/?org={org.slug}")
        assert room.locator("text=No dispatches yet").count() == 1

        run = off_loop(lambda: services.dispatch_start(actor=None, incident=incident)[0])
        row = room.locator(f"tr.run[data-incident='{incident.pk}']")
        row.wait_for(timeout=8_000)
        assert "Rita Responder (offered)" in row.inner_text()
        room.wait_for_function(
            "(el => el && /\\d+ s/.test(el.textContent))(document.querySelector('tr.run .countdown'))",
            timeout=5_000,
        )

        assignment = off_loop(lambda: Assignment.objects.get(dispatch=run))
        phone = desk.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        phone.goto(f"{server.base_url}/dispatch/r/{links.link_token(assignment)}/")
        assert "You are dispatched" in phone.inner_text("h1")
        phone.click("button[value=ack]")
        phone.locator("button[value=en_route]").wait_for(timeout=5_000)
        assert phone.inner_text("strong.state") == "acknowledged"

        room.wait_for_function(
            "document.querySelector('tr.run .run-state').textContent.trim() === 'acknowledged'", timeout=8_000
        )
        assert not errors, errors
    assert off_loop(lambda: Assignment.objects.get(pk=assignment.pk).state) == "acknowledged"
