"""The org-isolation harness: every routed API endpoint, walked with another org's ids.

For each org-scoped route, an object of org A is made by the model's registered factory
(tests/factories.py → tests/tenancy.py). Org B's owner then calls every method of the route
with A's ids (404, nothing changed, never listed) and with A's slug in the URL (404). Org A's
owner does the same calls' reads first, so a route that 404s for everyone cannot pass."""

import re

import pytest
from django.urls import reverse

from apps.orgs.models import Org, Role
from schedkit.api.views import SchedKitMixin
from tests import tenancy
from tests.conftest import key_client
from tests.factories import MembershipFactory, OrgFactory
from tests.routes import api_routes


def org_routes():
    return [r for r in api_routes() if issubclass(r.cls, SchedKitMixin) and (r.cls.org_scoped or r.cls.org_url_kwarg)]


def model_of(route):
    queryset = getattr(route.cls, "queryset", None)
    return queryset.model if queryset is not None else None


def test_every_org_scoped_model_is_registered_with_the_harness():
    missing = {
        f"{route.route} → {model_of(route).__name__}"
        for route in org_routes()
        if model_of(route) not in (None, Org) and model_of(route) not in tenancy.REGISTRY
    }
    assert not missing, f"register these models in tests/factories.py with @tenancy.register: {sorted(missing)}"


def lookup_kwarg(route):
    return getattr(route.cls, "lookup_url_kwarg", None) or getattr(route.cls, "lookup_field", "pk")


def url_for(route, org, obj=None, registration=None):
    kwargs = {}
    for name in route.kwarg_names:
        if name == getattr(route.cls, "org_url_kwarg", None):
            kwargs[name] = org.slug
        elif obj is not None and name == lookup_kwarg(route):
            kwargs[name] = getattr(obj, route.cls.lookup_field)
        elif registration is not None:
            kwargs[name] = registration.url_kwargs(obj)[name]
    return reverse(route.name, kwargs=kwargs)


def ids_in(response):
    return {item["id"] for item in response.json()["results"]}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", org_routes(), ids=str)
def test_foreign_org_gets_404_and_sees_nothing(route):
    org_a, org_b = OrgFactory(), OrgFactory()
    client_a = key_client(MembershipFactory(org=org_a, role=Role.OWNER))
    client_b = key_client(MembershipFactory(org=org_b, role=Role.OWNER))
    model = model_of(route)
    registration = tenancy.REGISTRY.get(model)
    obj = registration.factory(org_a) if registration else None
    is_detail = lookup_kwarg(route) in route.kwarg_names
    nested = [k for k in route.kwarg_names if k not in (route.cls.org_url_kwarg, lookup_kwarg(route))]
    before = model.objects.filter(pk=obj.pk).values().first() if obj is not None else None

    for method, _action in route.methods_and_actions:
        # Org B, in its own org, with org A's ids.
        if obj is not None and (is_detail or nested):
            url = url_for(route, org_b, obj, registration)
            if method == "get":
                own = client_a.get(url_for(route, org_a, obj, registration))
                assert own.status_code == 200, f"harness sanity: org A cannot read its own {url}"
            response = getattr(client_b, method)(url, {}, format="json")
            assert response.status_code == 404, (method, url, response.content)
            assert response["Content-Type"] == "application/problem+json"
        elif obj is not None and method == "get":
            url = url_for(route, org_b)
            assert str(obj.pk) in ids_in(client_a.get(url_for(route, org_a))), "harness sanity: A lists its object"
            response = client_b.get(url)
            assert response.status_code == 200
            assert str(obj.pk) not in ids_in(response), f"{url} leaked org A's object to org B"
            assert not re.search(str(obj.pk), response.content.decode())
        # Org B naming org A in the URL.
        if route.cls.org_url_kwarg in route.kwarg_names:
            url = url_for(route, org_a, obj, registration) if (is_detail or nested) else url_for(route, org_a)
            response = getattr(client_b, method)(url, {"name": "x"}, format="json")
            assert response.status_code == 404, (method, url, response.content)
            assert response.json()["code"] in ("ORG_NOT_FOUND", "NOT_FOUND")

    if obj is not None:
        assert model.objects.filter(pk=obj.pk).values().first() == before, "a foreign call changed org A's data"
    assert Org.objects.get(pk=org_a.pk).name == org_a.name


@pytest.mark.django_db(transaction=True)
def test_org_list_shows_only_the_callers_orgs():
    _org_a, org_b = OrgFactory(), OrgFactory()  # org A exists and must not show
    client_b = key_client(MembershipFactory(org=org_b, role=Role.OWNER))
    slugs = {o["slug"] for o in client_b.get("/v1/orgs").json()["results"]}
    assert slugs == {org_b.slug}
