"""Every method answers like the API (issue 17): OPTIONS and HEAD on every routed endpoint,
with or without credentials, answer without a server error; OPTIONS is 204 with `Allow`;
unknown API paths are problem+json 404s, never the Django admin."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import key_client
from tests.routes import api_routes

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": None, "user": None}


def path_for(route, org) -> str:
    kwargs = {}
    for name in route.kwarg_names:
        if name == "org_slug":
            kwargs[name] = org.slug
        elif name == "pk" or name.endswith("_id"):
            kwargs[name] = str(uuid.uuid4())
        else:
            kwargs[name] = "x"
    return reverse(route.name, kwargs=kwargs)


@pytest.mark.django_db
def test_options_on_every_route_is_204_with_allow(org, owner):
    clients = {"anonymous": APIClient(), "api key": key_client(owner)}
    failures = []
    for route in api_routes():
        path = path_for(route, org)
        for who, client in clients.items():
            response = client.options(path)
            allow = response.headers.get("Allow", "")
            if response.status_code != 204 or "OPTIONS" not in allow:
                failures.append(f"{who} OPTIONS {path} → {response.status_code} Allow={allow!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_options_on_plain_views_is_204_with_allow():
    response = APIClient().options("/v1/auth/link")
    assert response.status_code == 204
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST", "OPTIONS"}


@pytest.mark.django_db
def test_head_on_every_route_never_errs(org, owner):
    clients = {"anonymous": APIClient(), "api key": key_client(owner)}
    failures = []
    for route in api_routes():
        path = path_for(route, org)
        gets = route.actions is None and hasattr(route.cls, "get") or "get" in (route.actions or {})
        for who, client in clients.items():
            response = client.head(path)
            if response.status_code >= 500 or (gets and response.status_code == 405):
                failures.append(f"{who} HEAD {path} → {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/admin/v1/nope", "/admin/v1/", "/admin/v1/bookings/x/y/z", "/v1/nope", "/v1/", "/v1/orgs/a/b/c/d/e"]
)
@pytest.mark.parametrize("method", ["get", "post", "options", "delete"])
def test_unknown_api_paths_are_problem_404(path, method, owner):
    for client in (APIClient(), key_client(owner)):
        response = getattr(client, method)(path)
        assert response.status_code == 404, (path, response.status_code)
        assert response["Content-Type"] == PROBLEM
        assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.django_db
def test_the_django_admin_is_still_there():
    assert APIClient().get("/admin/").status_code == 302


@pytest.mark.django_db
def test_cors_preflight_for_a_configured_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.test"]
    response = APIClient().options(
        "/v1/auth/login",
        HTTP_ORIGIN="https://app.example.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
    other = APIClient().options("/v1/auth/login", HTTP_ORIGIN="https://evil.example.test")
    assert other.status_code == 204 and "Access-Control-Allow-Origin" not in other


@pytest.mark.django_db
def test_nul_in_a_query_string_is_a_400(owner):
    response = key_client(owner).get("/v1/signals?type=%00")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "MALFORMED_REQUEST"
