import pytest

from tests.calendars.fake_google import CLIENT_ID, CLIENT_SECRET, FakeGoogle


@pytest.fixture
def google(settings, monkeypatch):
    """The fake Google, with SchedKit's settings pointed at it."""
    fake = FakeGoogle()
    settings.GOOGLE_OAUTH_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_OAUTH_CLIENT_SECRET = CLIENT_SECRET
    settings.GOOGLE_OAUTH_AUTH_URI = f"{fake.base}/o/oauth2/auth"
    settings.GOOGLE_OAUTH_TOKEN_URI = f"{fake.base}/token"
    settings.GOOGLE_OAUTH_REVOKE_URI = f"{fake.base}/revoke"
    settings.GOOGLE_CALENDAR_API_ENDPOINT = f"{fake.base}/calendar/v3/"
    settings.PUBLIC_BASE_URL = "http://testserver"
    # oauthlib refuses plain-http token endpoints unless told this is a local test
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    yield fake
    fake.stop()
