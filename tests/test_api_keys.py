import hashlib
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_version_key
from apps.orgs.models import Role
from tests.conftest import key_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_shows_the_key_once_and_stores_only_its_hash(owner, session_client):
    client = session_client(owner.user)
    response = client.post("/v1/api-keys", {"name": "dispatch bot"}, format="json", HTTP_X_ORG=owner.org.slug)
    assert response.status_code == 201, response.content
    raw = response.json()["key"]
    assert raw.startswith("sk_live_") and len(raw) > 40
    key = ApiKey.objects.get(pk=response.json()["id"])
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.values().get(pk=key.pk))
    listed = client.get("/v1/api-keys", HTTP_X_ORG=owner.org.slug).json()["results"]
    assert [k["id"] for k in listed] == [str(key.pk)] and "key" not in listed[0]
    assert client.get(f"/v1/api-keys/{key.pk}", HTTP_X_ORG=owner.org.slug).json()["prefix"] == raw[:14]


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"])
def test_bearer_and_x_api_key_both_authenticate(owner, header):
    raw = key_client(owner).raw_key
    client = APIClient()
    client.credentials(**{header: f"Bearer {raw}" if header == "HTTP_AUTHORIZATION" else raw})
    response = client.get("/v1/auth/me")
    assert response.status_code == 200 and response.json()["email"] == owner.user.email


def test_last_used_at_is_recorded(owner):
    client = key_client(owner)
    assert ApiKey.objects.get().last_used_at is None
    client.get("/v1/auth/me")
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    client.get("/v1/auth/me")  # within the minute: no extra write
    assert ApiKey.objects.get().last_used_at == first


def test_revoked_key_stops_working(owner):
    client = key_client(owner)
    key = ApiKey.objects.get()
    assert client.delete(f"/v1/api-keys/{key.pk}").status_code == 204
    response = client.get("/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_key_and_unknown_key_are_refused(owner):
    client = key_client(owner)
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/v1/auth/me").status_code == 401
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer sk_live_nope")
    assert stranger.get("/v1/auth/me").status_code == 401


def test_key_dies_with_its_membership_and_follows_role_changes(org, owner, make_member):
    member = make_member(org, Role.MEMBER)
    client = key_client(member)
    owner_client = key_client(owner)
    assert client.get(f"/v1/orgs/{org.slug}/invites").status_code == 403
    promoted = owner_client.patch(f"/v1/orgs/{org.slug}/members/{member.pk}", {"role": "admin"}, format="json")
    assert promoted.status_code == 200
    assert client.get(f"/v1/orgs/{org.slug}/invites").status_code == 200  # the cached key saw the change
    assert owner_client.delete(f"/v1/orgs/{org.slug}/members/{member.pk}").status_code == 204
    assert client.get("/v1/events").status_code == 401


def test_members_see_and_revoke_only_their_own_keys(org, owner, make_member):
    admin_client = key_client(owner)
    member = make_member(org, Role.MEMBER)
    member_client = key_client(member)
    owner_key = ApiKey.objects.get(user=owner.user)
    member_keys = member_client.get("/v1/api-keys").json()["results"]
    assert {k["user"] for k in member_keys} == {member.user.email}
    assert member_client.delete(f"/v1/api-keys/{owner_key.pk}").status_code == 404
    assert ApiKey.objects.get(pk=owner_key.pk).revoked_at is None
    assert len(admin_client.get("/v1/api-keys").json()["results"]) == 2


def test_api_key_cannot_switch_org(org, owner, make_org, make_member):
    other = make_org()
    make_member(other, Role.OWNER, user=owner.user)
    client = key_client(owner)
    response = client.get("/v1/events", HTTP_X_ORG=other.slug)
    assert response.status_code == 404 and response.json()["code"] == "ORG_NOT_FOUND"


def test_a_warm_key_costs_no_query_and_its_throttle_still_counts(owner, settings):
    """The resolved key is kept per process and validated by its version token, read in the
    same Redis round trip as the per-key throttle's counter: that counter must still count."""
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "user": "3/min"}
    client = key_client(owner)
    assert client.get("/v1/auth/me").status_code == 200  # resolves the key (and writes last_used_at)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/v1/auth/me").status_code == 200
    assert not [q for q in queries.captured_queries if "accounts_apikey" in q["sql"]], queries.captured_queries
    assert client.get("/v1/auth/me").status_code == 200
    assert client.get("/v1/auth/me").status_code == 429  # the 4th in the window


def test_another_process_invalidation_is_seen_at_once(owner):
    """What another process's revocation does: the row changes and the version token goes.
    This process's copy of the key must not answer the next request."""
    client = key_client(owner)
    assert client.get("/v1/auth/me").status_code == 200
    key = ApiKey.objects.get()
    ApiKey.objects.update(revoked_at=timezone.now())
    cache.delete(api_key_version_key(key.key_hash))
    assert client.get("/v1/auth/me").status_code == 401
