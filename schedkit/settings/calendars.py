"""Google Calendar sync: the OAuth client, Google's endpoints (overridable so tests point the
real client at a local fake) and how fresh the cached busy time is kept."""

from .env import env_int, env_str

GOOGLE_OAUTH_CLIENT_ID = env_str("GOOGLE_OAUTH_CLIENT_ID", "")
GOOGLE_OAUTH_CLIENT_SECRET = env_str("GOOGLE_OAUTH_CLIENT_SECRET", "")
GOOGLE_OAUTH_AUTH_URI = env_str("GOOGLE_OAUTH_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
GOOGLE_OAUTH_TOKEN_URI = env_str("GOOGLE_OAUTH_TOKEN_URI", "https://oauth2.googleapis.com/token")
GOOGLE_OAUTH_REVOKE_URI = env_str("GOOGLE_OAUTH_REVOKE_URI", "https://oauth2.googleapis.com/revoke")
GOOGLE_CALENDAR_API_ENDPOINT = env_str("GOOGLE_CALENDAR_API_ENDPOINT", "https://www.googleapis.com/calendar/v3/")
# Busy time is refreshed by a periodic job; a slot query reads the cache and never calls Google.
GOOGLE_BUSY_REFRESH_SECONDS = env_int("GOOGLE_BUSY_REFRESH_SECONDS", 300)
GOOGLE_BUSY_HORIZON_DAYS = env_int("GOOGLE_BUSY_HORIZON_DAYS", 60)
GOOGLE_HTTP_RETRIES = env_int("GOOGLE_HTTP_RETRIES", 3)  # in-request retries on 429/5xx (client backoff)
# Assigned schedule entries (a per-connection setting) are written through the outbox on each
# change; a full pass per person runs this often so a series' later instances get written.
GOOGLE_ENTRY_PASS_HOURS = env_int("GOOGLE_ENTRY_PASS_HOURS", 6)
