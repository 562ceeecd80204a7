"""Bad input gets a clear RFC 9457 answer with a stable code and changes nothing."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from apps.orgs.models import Role, Team
from tests.conftest import key_client

pytestmark = pytest.mark.django_db(transaction=True)


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("https://")
    return body


def test_malformed_json(owner):
    client = key_client(owner)
    response = client.post(f"/v1/orgs/{owner.org.slug}/teams", data='{"slug": ', content_type="application/json")
    assert_problem(response, 400, "MALFORMED_REQUEST")
    assert not Team.objects.exists()


def test_wrong_types_list_every_field(owner):
    client = key_client(owner)
    response = client.post(
        f"/v1/orgs/{owner.org.slug}/teams",
        {"slug": "has spaces", "name": ["x"], "routing_strategy": "fastest"},
        format="json",
    )
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    assert {e["field"] for e in body["errors"]} == {"slug", "name", "routing_strategy"}
    assert not Team.objects.exists()


def test_unknown_fields_are_rejected(owner):
    response = key_client(owner).post(
        f"/v1/orgs/{owner.org.slug}/teams", {"slug": "a", "name": "A", "colour": "red"}, format="json"
    )
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "colour", "message": "Unknown field.", "code": "invalid"}]


def test_non_object_body(owner):
    response = key_client(owner).post(f"/v1/orgs/{owner.org.slug}/teams", [1, 2], format="json")
    assert_problem(response, 400, "VALIDATION_ERROR")


def test_bad_timezone(session_client, make_org):
    from apps.accounts.models import User

    client = session_client(User.objects.create_user("tz@example.test"))
    response = client.post("/v1/orgs", {"slug": "tz", "name": "TZ", "timezone": "Mars/Olympus"}, format="json")
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "timezone"


def test_unsupported_media_type(owner):
    response = key_client(owner).post(f"/v1/orgs/{owner.org.slug}/teams", data="slug=a", content_type="text/plain")
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_org_header(owner, session_client):
    response = session_client(owner.user).get("/v1/events", HTTP_X_ORG="no-such-org")
    assert_problem(response, 404, "ORG_NOT_FOUND")


def test_unknown_org_in_url(owner):
    assert_problem(key_client(owner).get("/v1/orgs/no-such-org/teams"), 404, "ORG_NOT_FOUND")


def test_ambiguous_org_for_a_session(owner, make_org, make_member, session_client):
    make_member(make_org(), Role.MEMBER, user=owner.user)
    client = session_client(owner.user)
    assert_problem(client.get("/v1/events"), 400, "ORG_AMBIGUOUS")
    assert client.get("/v1/events", HTTP_X_ORG=owner.org.slug).status_code == 200
    assert client.get(f"/v1/events?org={owner.org.slug}").status_code == 200


def test_user_without_org(session_client):
    from apps.accounts.models import User

    client = session_client(User.objects.create_user("lonely@example.test"))
    assert_problem(client.get("/v1/events"), 400, "ORG_REQUIRED")


def test_not_authenticated():
    assert_problem(APIClient().get("/v1/events"), 401, "NOT_AUTHENTICATED")


def test_unknown_endpoint_and_method(owner):
    client = key_client(owner)
    assert_problem(client.get("/v1/definitely-not-here"), 404, "NOT_FOUND")
    assert_problem(client.put("/v1/events", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_bad_uuid_and_bad_cursor(owner):
    client = key_client(owner)
    assert_problem(client.get("/v1/events/not-a-uuid"), 404, "NOT_FOUND")
    assert_problem(client.get("/v1/events?cursor=garbage"), 400, "INVALID_CURSOR")
    assert_problem(client.get("/v1/events?after=nope"), 400, "VALIDATION_ERROR")


@override_settings(
    THROTTLE_RATES={
        "user": "3/min",
        "anon": "100/min",
        "login_email": "5/15min",
        "login_ip": "20/15min",
        "verify_ip": "30/15min",
    }
)
def test_throttling_answers_429_with_retry_after(owner):
    client = key_client(owner)
    for _ in range(3):
        assert client.get("/v1/events").status_code == 200
    response = client.get("/v1/events")
    assert_problem(response, 429, "RATE_LIMITED")
    assert 1 <= int(response["Retry-After"]) <= 60
