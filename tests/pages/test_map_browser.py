"""The live map in a real browser, offline: the vendored Natural Earth base layer is drawn,
an incident created through the API appears by priority, and the map fits to everything."""

from apps.orgs.models import Role
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.conftest import key_client
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def test_the_map_draws_the_base_layer_and_an_incident_created_through_the_api(org, make_member):
    scheduler = make_member(org, Role.SCHEDULER)
    api = key_client(scheduler)
    api.post("/v1/incidents", {"title": "Gas smell", "priority": "high", "lat": 48.14, "lng": 11.58}, format="json")

    with (
        asgi_server(server_env(SIGNALS_MAP_TILE_URL="")) as server,
        browsing(server, scheduler.user, viewport={"width": 1280, "height": 900}) as (context, page, errors),
    ):
        page.route(
            "http*://**",
            lambda route: route.continue_() if route.request.url.startswith(server.base_url) else route.abort(),
        )
        page.goto(f"{server.base_url}/signals/map/?org={org.slug}")
        page.wait_for_selector("#signals-map.base-layer-ready", timeout=10_000)
        assert page.locator("path.leaflet-interactive, .leaflet-overlay-pane path").count() > 100
        assert page.locator("path.incident-marker.prio-high").count() == 1
        page.wait_for_function("document.getElementById('ws-status').textContent === 'live'", timeout=10_000)
        created = off_loop(
            lambda: api.post(
                "/v1/incidents", {"title": "Flood", "priority": "urgent", "lat": 52.52, "lng": 13.40}, format="json"
            )
        )
        assert created.status_code == 201
        page.wait_for_selector("path.incident-marker.prio-urgent", timeout=10_000)
        assert page.locator("#incident-list", has_text="Flood").count() == 1
        # Fit to everything: both incidents are inside the view.
        inside = page.evaluate(
            "() => { const m = document.querySelectorAll('path.incident-marker');"
            " const r = document.getElementById('signals-map').getBoundingClientRect();"
            " return Array.from(m).every(p => { const b = p.getBoundingClientRect();"
            " return b.left >= r.left && b.right <= r.right && b.top >= r.top && b.bottom <= r.bottom; }); }"
        )
        assert inside
        screenshot(page, "map-1280")
        assert not errors, errors
