"""The base layer every map page draws (one home: the live map, the war room, the new-incident
pin): the vendored Natural Earth borders offline, or tiles when SIGNALS_MAP_TILE_URL is set.
static/js/basemap.js reads this config."""

from django.conf import settings
from django.templatetags.static import static

BASE_LAYER = "vendor/natural-earth/countries-110m.geojson"


def base_map_config() -> dict:
    return {
        "baseLayer": static(BASE_LAYER),
        "tileUrl": getattr(settings, "SIGNALS_MAP_TILE_URL", "") or "",
        "tileAttribution": getattr(settings, "SIGNALS_MAP_TILE_ATTRIBUTION", "") or "",
    }
