"""The dispatcher live map page."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.orgs.models import Role
from tests.conftest import key_client

pytestmark = pytest.mark.django_db(transaction=True)


def browser(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def embedded(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_dispatcher_sees_active_beacons_and_alerts(org, make_member, settings):
    settings.SIGNALS_MAP_TILE_URL = ""
    responder = make_member(org, Role.MEMBER)
    responder.user.name = "Ada Responder"
    responder.user.save()
    client = key_client(responder)
    client.post("/v1/signals/beacon", {"lat": 52.5, "lng": 13.4}, format="json")
    client.post("/v1/signals/beacon", {"lat": 52.6, "lng": 13.5}, format="json")
    client.post("/v1/signals", {"type": "alert", "title": "<b>Fire</b>", "lat": 52, "lng": 13}, format="json")

    response = browser(make_member(org, Role.SCHEDULER)).get("/signals/map/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/leaflet/leaflet.js" in html and "signals/map.js" in html and "no-tiles" in html
    beacons = embedded(html, "signals-map-beacons")
    assert [(b["name"], b["lat"], b["lng"], b["stale"]) for b in beacons] == [("Ada Responder", 52.6, 13.5, False)]
    assert embedded(html, "signals-map-alerts")[0]["title"] == "<b>Fire</b>"
    assert "<b>Fire</b>" not in html  # escaped
    assert embedded(html, "signals-map-config")["org"] == org.slug
    assert 'id="push-enable"' in html and 'id="signals-csrf"' in html


def test_tile_url_setting_reaches_the_page(org, make_member, settings):
    settings.SIGNALS_MAP_TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"
    html = browser(make_member(org, Role.OWNER)).get("/signals/map/").content.decode()
    assert embedded(html, "signals-map-config")["tileUrl"] == "https://tiles.example.test/{z}/{x}/{y}.png"
    assert "no-tiles" not in html


def test_map_is_for_dispatchers_only(org, make_member):
    assert browser(make_member(org, Role.MEMBER)).get("/signals/map/").status_code == 403
    assert browser(make_member(org, Role.FRONTDESK)).get("/signals/map/").status_code == 403
    anonymous = Client().get("/signals/map/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]


def test_vendored_assets_are_served_locally():
    assets = (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "signals/map.js",
        "signals/map.css",
        "signals/sw.js",
    )
    for asset in assets:
        assert finders.find(asset), asset
