"""The shared base map on the pages that need it: the new-incident pin on the board and the war
room, and the live map panel of the war room (registered by apps.signals, dispatchers only)."""

import json
import re

import pytest
from django.test import Client

from apps.incidents import panels
from apps.orgs.models import Role
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def page(membership, url):
    client = Client()
    client.force_login(membership.user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def embedded(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None


def test_the_pin_map_is_framed_on_recent_incidents_and_loads_leaflet_once(org, make_member, settings):
    settings.SIGNALS_MAP_TILE_URL = ""
    scheduler = make_member(org, Role.SCHEDULER)
    api = key_client(scheduler)
    api.post("/v1/incidents", {"title": "A", "lat": 52.5, "lng": 13.3}, format="json")
    api.post("/v1/incidents", {"title": "B", "lat": 52.6, "lng": 13.5}, format="json")
    api.post("/v1/incidents", {"title": "no place"}, format="json")
    for url in (f"/incidents/?org={org.slug}", f"/incidents/war-room/?org={org.slug}"):
        html = page(scheduler, url)
        config = embedded(html, "new-incident-pin-config")
        assert config["bounds"] == [[52.5, 13.3], [52.6, 13.5]]
        assert config["baseLayer"].endswith("countries-110m.geojson") and config["tileUrl"] == ""
        assert html.count("vendor/leaflet/leaflet.js") == 1 and html.count("vendor/leaflet/leaflet.css") == 1
        assert "incidents/pin.js" in html and 'name="lat"' in html  # typing still works


def test_without_incidents_the_pin_map_shows_the_world(org, make_member):
    config = embedded(page(make_member(org, Role.SCHEDULER), f"/incidents/?org={org.slug}"), "new-incident-pin-config")
    assert config["bounds"] is None


def test_the_war_room_shows_the_live_map_to_dispatchers(org, make_member):
    scheduler = make_member(org, Role.SCHEDULER)
    key_client(scheduler).post(
        "/v1/incidents", {"title": "Gas", "priority": "high", "lat": 48.1, "lng": 11.6}, format="json"
    )
    html = page(scheduler, f"/incidents/war-room/?org={org.slug}")
    assert 'id="signals-map"' in html and "signals/map.js" in html
    config = embedded(html, "signals-map-config")
    assert config["ownSocket"] is False and config["timezone"] == "Europe/Berlin"
    assert [i["title"] for i in embedded(html, "signals-map-incidents")] == ["Gas"]
    # Scripts in order: Leaflet before the base map before the map; each once.
    scripts = re.findall(r'<script src="/static/([^"]+)"', html)
    assert scripts.index("vendor/leaflet/leaflet.js") < scripts.index("js/basemap.js") < scripts.index("signals/map.js")
    assert len(scripts) == len(set(scripts))


def test_members_get_the_war_room_without_map_or_pin(org, make_member):
    html = page(make_member(org, Role.MEMBER), f"/incidents/war-room/?org={org.slug}")
    assert 'id="signals-map"' not in html and "leaflet" not in html and "new-incident-pin" not in html


def test_the_board_rows_partial_skips_the_map_work(org, make_member):
    client = Client()
    client.force_login(make_member(org, Role.SCHEDULER).user)
    response = client.get(
        f"/incidents/war-room/?org={org.slug}", headers={"HX-Request": "true", "HX-Target": "incident-rows"}
    )
    assert response.status_code == 200 and b"signals-map" not in response.content


def test_assets_keep_first_seen_order():
    assert panels.assets(["a", "b"], ["b", "c"], ["a", "d"]) == ["a", "b", "c", "d"]
