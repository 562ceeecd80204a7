"""The war room (the wall display) shows the live map beside the board: incidents and beacons,
drawn from the page and kept live over the board's one org websocket (no second socket)."""

import pytest

from apps.orgs.models import Role
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.conftest import key_client
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


@pytest.mark.parametrize(
    "viewport", [{"width": 1920, "height": 1080}, {"width": 390, "height": 844}], ids=["wall", "phone"]
)
def test_war_room_map_shows_incidents_and_beacons_live(org, make_member, viewport):
    scheduler = make_member(org, Role.SCHEDULER)
    responder = make_member(org, Role.MEMBER)
    responder.user.name = "Ada Responder"
    responder.user.save()
    api = key_client(scheduler)
    api.post("/v1/incidents", {"title": "Gas smell", "priority": "high", "lat": 48.14, "lng": 11.58}, format="json")
    responder_api = key_client(responder)

    with (
        asgi_server(server_env(SIGNALS_MAP_TILE_URL="")) as server,
        browsing(server, scheduler.user, viewport=viewport) as (context, page, errors),
    ):
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.route(  # offline: nothing but our own server
            "http*://**",
            lambda route: route.continue_() if route.request.url.startswith(server.base_url) else route.abort(),
        )
        page.goto(f"{server.base_url}/incidents/war-room/?org={org.slug}")
        page.wait_for_selector("#signals-map.base-layer-ready", timeout=10_000)
        assert page.locator("path.incident-marker.prio-high").count() == 1
        assert page.locator("#beacon-list .empty", has_text="No active beacons.").count() == 1
        if viewport["width"] > 900:  # beside the board, not under it
            board = page.locator("#incident-rows").bounding_box()
            map_box = page.locator("#signals-map").bounding_box()
            assert map_box["x"] > board["x"] + board["width"] - 1 and map_box["y"] < board["y"] + board["height"]
        page.wait_for_function("document.getElementById('ws-status').textContent === 'live'", timeout=10_000)

        created = off_loop(
            lambda: api.post(
                "/v1/incidents", {"title": "Flood", "priority": "urgent", "lat": 52.52, "lng": 13.40}, format="json"
            )
        )
        assert created.status_code == 201
        page.wait_for_selector("path.incident-marker.prio-urgent", timeout=10_000)
        page.locator("#incident-rows", has_text="Flood").wait_for(timeout=10_000)  # the board too
        beacon = off_loop(lambda: responder_api.post("/v1/signals/beacon", {"lat": 52.5, "lng": 13.4}, format="json"))
        assert beacon.status_code in (200, 201), beacon.content
        page.locator("#beacon-list", has_text="Ada Responder").wait_for(timeout=10_000)
        assert page.locator("#beacon-count").inner_text() == "1"
        # Resolving the flood takes its marker off the map.
        incident_id = created.json()["id"]
        resolved = off_loop(
            lambda: api.post(f"/v1/incidents/{incident_id}/transition", {"status": "resolved"}, format="json")
        )
        assert resolved.status_code == 200, resolved.content
        page.wait_for_selector("path.incident-marker.prio-urgent", state="detached", timeout=10_000)
        assert len([u for u in sockets if "/ws/orgs/" in u]) == 1, sockets  # one socket for board and map
        screenshot(page, f"war-room-map-{viewport['width']}")
        assert not errors, errors
