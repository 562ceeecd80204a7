"""Connecting a Google account: the consent round trip (state, PKCE, offline access), tokens
encrypted at rest, the calendar list, token refresh, disconnect that revokes."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from apps.calendars import services
from apps.calendars.models import CalendarConnection, ConnectedCalendar
from tests.calendars.factories import make_connection

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_consent_round_trip_stores_encrypted_tokens_and_lists_calendars(org, make_member, google):
    member = make_member(org, "member")
    client = _signed_in(member)
    started = client.post("/calendars/google/connect")
    assert started.status_code == 302
    auth_url = started["Location"]
    assert auth_url.startswith(google.base) and parse_qs(urlparse(auth_url).query)["prompt"] == ["consent"]
    back = urlparse(google.consent(auth_url))
    assert back.path == "/calendars/google/callback"

    # a forged state is refused and changes nothing
    forged = client.get(back.path, {"state": "forged", "code": parse_qs(back.query)["code"][0]})
    assert forged.status_code == 400
    assert CalendarConnection.objects.get(membership=member).status == CalendarConnection.Status.PENDING

    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.content
    connection = CalendarConnection.objects.get(membership=member)
    assert connection.status == CalendarConnection.Status.ACTIVE
    assert connection.refresh_token in google.refresh and connection.access_token in google.access
    assert connection.refresh_token not in connection.refresh_token_enc  # ciphertext at rest
    assert connection.oauth_state == ""
    calendars = {c.calendar_id: c for c in ConnectedCalendar.objects.filter(connection=connection)}
    assert calendars["primary@example.test"].write_target and calendars["primary@example.test"].check_conflicts
    assert not calendars["team@example.test"].write_target and not calendars["team@example.test"].check_conflicts
    assert connection.last_sync_at is not None

    page = client.get("/calendars/")
    assert page.status_code == 200 and b"Team" in page.content and b"Active" in page.content

    # a replayed callback (the state is spent) is refused
    assert client.get(f"{back.path}?{back.query}").status_code == 400


def test_expired_access_token_is_refreshed_and_stored(org, make_member, google):
    member = make_member(org, "member")
    connection = make_connection(member, google=google)
    old = connection.access_token
    google.expire_access_tokens()  # Google answers 401: the client refreshes and retries
    assert services.connection_sync(connection_id=connection.pk) == "active"
    connection.refresh_from_db()
    assert connection.access_token != old and connection.access_token in google.access
    assert google.calls("/token", "POST") == 1


def test_disconnect_revokes_the_grant(org, make_member, google):
    member = make_member(org, "member")
    connection = make_connection(member, google=google)
    refresh = connection.refresh_token
    client = _signed_in(member)
    assert client.post("/calendars/disconnect").status_code == 302
    assert refresh in google.revoked and refresh not in google.refresh
    assert not CalendarConnection.objects.filter(pk=connection.pk).exists()


def test_connect_without_configuration_is_a_problem_not_a_500(org, make_member, settings):
    settings.GOOGLE_OAUTH_CLIENT_ID = ""
    response = _signed_in(make_member(org, "member")).post("/calendars/google/connect")
    assert response.status_code == 409
