"""Signals settings, read at call time so tests (and `override_settings`) can change them.

Each value comes from the Django setting of the same name when the project defines it, else
from the environment variable of that name, else the default here."""

import os

from django.conf import settings

DEFAULTS = {
    "SIGNALS_BEACON_TIMEOUT_SECONDS": 120,  # a beacon silent this long is swept (beacon_off, timeout)
    "SIGNALS_CAPTURE_MAX_BYTES": 10 * 1024 * 1024,
    "SIGNALS_MAP_TILE_URL": "",  # e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty → no tiles
    "SIGNALS_MAP_TILE_ATTRIBUTION": "",
    "VAPID_PUBLIC_KEY": "",
    "VAPID_PRIVATE_KEY": "",
    "VAPID_SUBJECT": "mailto:ops@schedkit.local",
    "PUSH_TIMEOUT_SECONDS": 10,
    "NTFY_URL": "https://ntfy.sh",
    "NTFY_TOKEN": "",
}


def get(name: str):
    default = DEFAULTS[name]
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
        if value is None:
            return default
    if isinstance(default, int) and not isinstance(value, int):
        return int(float(value))
    return value


def beacon_timeout() -> int:
    return get("SIGNALS_BEACON_TIMEOUT_SECONDS")
