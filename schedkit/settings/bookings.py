"""Scheduling and bookings: attendee PII keys and the slot generation horizon."""

from .env import env_int, env_list

# Fernet keys, newest first (comma-separated); rotate by prepending a new key. Empty: a key
# derived from SECRET_KEY (fine for the embedded default, not for production).
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", "")
SLOTS_HORIZON_DAYS = env_int("SLOTS_HORIZON_DAYS", 28)  # how far ahead the hourly job materializes slots
