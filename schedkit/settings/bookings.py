"""Scheduling and bookings: attendee PII keys and the slot generation horizon."""

from .env import env_int, env_list, env_str

# Fernet keys, newest first (comma-separated); rotate by prepending a new key. Empty: a key
# derived from SECRET_KEY (fine for the embedded default, not for production).
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", "")
# Blind-index key (keyed hash of attendee email/phone for lookups): its own secret, not
# SECRET_KEY. Empty keeps the historical key derived from SECRET_KEY (existing indexes stay
# valid); after changing it run `manage.py pii_reencrypt` to recompute the indexes.
PII_INDEX_KEY = env_str("PII_INDEX_KEY", "")
SLOTS_HORIZON_DAYS = env_int("SLOTS_HORIZON_DAYS", 28)  # how far ahead the hourly job materializes slots
