"""Signals: beacons, captures, the live map, web push (VAPID) and ntfy."""

from .env import env_int, env_str

SIGNALS_BEACON_TIMEOUT_SECONDS = env_int("SIGNALS_BEACON_TIMEOUT_SECONDS", 120)
SIGNALS_CAPTURE_MAX_BYTES = env_int("SIGNALS_CAPTURE_MAX_BYTES", 10 * 1024 * 1024)
SIGNALS_MAP_TILE_URL = env_str("SIGNALS_MAP_TILE_URL", "")  # empty: plain background, markers and list
SIGNALS_MAP_TILE_ATTRIBUTION = env_str("SIGNALS_MAP_TILE_ATTRIBUTION", "")
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")  # python manage.py generate_vapid_keys
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:ops@schedkit.local")
PUSH_TIMEOUT_SECONDS = env_int("PUSH_TIMEOUT_SECONDS", 10)
NTFY_URL = env_str("NTFY_URL", "https://ntfy.sh")
NTFY_TOKEN = env_str("NTFY_TOKEN", "")
