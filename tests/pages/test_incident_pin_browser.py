"""The new-incident form's map pin in a real browser, offline: a click places a pin that fills
Latitude/Longitude, dragging it changes them, typing them moves it, and the incident is created
where the pin is. The map opens framed on the org's recent incidents."""

import pytest

from apps.incidents.models import Incident
from apps.orgs.models import Role
from tests.browser import BROWSER_TEST_MARKS, browsing, off_loop, screenshot
from tests.conftest import key_client
from tests.servers import asgi_server, server_env

pytestmark = BROWSER_TEST_MARKS


def coords(page) -> tuple[float, float]:
    return float(page.input_value("input[name=lat]")), float(page.input_value("input[name=lng]"))


def pin_position(page) -> dict:
    """The pin's lat/lng as the map has it (Leaflet's own projection of its screen spot)."""
    return page.evaluate(
        "() => { const p = document.querySelector('.incident-pin').getBoundingClientRect();"
        " return {x: p.left + p.width / 2, y: p.bottom}; }"
    )


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}], ids=["phone", "desktop"]
)
def test_place_drag_and_type_the_pin_then_create(org, make_member, viewport):
    scheduler = make_member(org, Role.SCHEDULER)
    api = key_client(scheduler)
    # Recent incidents around Berlin: the pin map opens there, not on the whole world.
    api.post("/v1/incidents", {"title": "Earlier", "lat": 52.50, "lng": 13.35}, format="json")
    api.post("/v1/incidents", {"title": "Earlier too", "lat": 52.55, "lng": 13.45}, format="json")

    with (
        asgi_server(server_env(SIGNALS_MAP_TILE_URL="")) as server,
        browsing(server, scheduler.user, viewport=viewport) as (context, page, errors),
    ):
        page.route(
            "http*://**",
            lambda route: route.continue_() if route.request.url.startswith(server.base_url) else route.abort(),
        )
        page.goto(f"{server.base_url}/incidents/?org={org.slug}")
        page.click("text=New incident")
        pin_map = page.locator("#new-incident-pin")
        page.wait_for_selector("#new-incident-pin.base-layer-ready", timeout=10_000)
        pin_map.scroll_into_view_if_needed()
        assert page.locator(".incident-pin").count() == 0 and page.input_value("input[name=lat]") == ""

        # 1. A click in the middle places the pin near the recent incidents (framed on them).
        box = pin_map.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".incident-pin")
        lat, lng = coords(page)
        assert 52.3 < lat < 52.75 and 13.1 < lng < 13.7, (lat, lng)

        # 2. Dragging the pin to the right and up moves it north-east.
        spot = pin_position(page)
        page.mouse.move(spot["x"], spot["y"] - 10)
        page.mouse.down()
        page.mouse.move(spot["x"] + 30, spot["y"] - 40, steps=8)
        page.mouse.move(spot["x"] + 60, spot["y"] - 70, steps=8)
        page.mouse.up()
        page.wait_for_function(f"parseFloat(document.querySelector('input[name=lng]').value) > {lng + 0.0001}")
        dragged = coords(page)
        assert dragged[0] > lat and dragged[1] > lng, (lat, lng, dragged)

        # 3. Typing coordinates moves the pin there (it stays on the map).
        page.fill("input[name=lat]", "52.5219")
        page.fill("input[name=lng]", "13.4132")
        moved = page.evaluate(
            "() => { const p = document.querySelector('.incident-pin').getBoundingClientRect();"
            " const m = document.getElementById('new-incident-pin').getBoundingClientRect();"
            " return p.left >= m.left && p.right <= m.right && p.top >= m.top && p.bottom <= m.bottom; }"
        )
        assert moved
        screenshot(page, f"new-incident-pin-{viewport['width']}")

        page.fill("input[name=title]", "Lift stuck at Alexanderplatz")
        page.click("text=Create incident")
        page.wait_for_selector("text=Incident created.")
        incident = off_loop(lambda: Incident.objects.get(title="Lift stuck at Alexanderplatz"))
        assert (incident.lat, incident.lng) == (52.5219, 13.4132)

        # 4. "Remove pin" clears the coordinates: an incident without a location.
        page.click("text=New incident")
        page.wait_for_selector("#new-incident-pin.base-layer-ready")
        page.locator("#new-incident-pin").scroll_into_view_if_needed()
        box = page.locator("#new-incident-pin").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
        page.wait_for_selector(".incident-pin")
        page.click("#pin-clear")
        assert page.locator(".incident-pin").count() == 0 and page.input_value("input[name=lat]") == ""
        assert not errors, errors
