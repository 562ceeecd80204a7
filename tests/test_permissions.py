"""Who may do what: every action declared, and the role × endpoint matrix of SPEC §2."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from apps.orgs.models import Membership, Role, Team
from schedkit.api.views import SchedKitMixin, SchedKitViewSet
from tests.conftest import key_client
from tests.factories import MembershipFactory, TeamFactory
from tests.routes import api_routes

ALL = list(Role.values)


def test_every_api_action_declares_its_roles():
    undeclared, foreign = [], []
    for route in api_routes():
        if not issubclass(route.cls, SchedKitMixin):
            foreign.append(route.route)
            continue
        for method, action in route.methods_and_actions:
            if action not in route.cls.action_roles:
                undeclared.append(f"{route.route} {method.upper()} → {action}")
    assert not foreign, f"API views not built on SchedKit's base classes: {foreign}"
    assert not undeclared, f"actions without a permission declaration: {undeclared}"
    assert len(api_routes()) >= 10  # the walk really found the API


@pytest.mark.django_db
def test_an_undeclared_action_is_refused_loudly(owner):
    class Careless(SchedKitViewSet):
        action_roles = {"list": frozenset(ALL)}

        def create(self, request):  # not declared
            raise AssertionError("must not run")

    view = Careless.as_view({"post": "create"})
    from rest_framework.test import APIRequestFactory

    request = APIRequestFactory().post("/x", {}, format="json")
    with pytest.raises(ImproperlyConfigured, match="does not declare"):
        view(request)


def _team(org):
    return Team.objects.filter(org=org, slug="alpha").first() or TeamFactory(org=org, slug="alpha")


def _target(org):
    return MembershipFactory(org=org, role=Role.MEMBER)


# (method, path template, body, roles allowed, success status)
MATRIX = [
    ("get", "/v1/orgs/{org}", None, ALL, 200),
    ("patch", "/v1/orgs/{org}", {"name": "Renamed"}, ["owner", "admin"], 200),
    ("get", "/v1/orgs/{org}/members", None, ALL, 200),
    ("get", "/v1/orgs/{org}/members/{member}", None, ALL, 200),
    ("patch", "/v1/orgs/{org}/members/{member}", {"skills": ["first-aid"]}, ["owner", "admin"], 200),
    ("delete", "/v1/orgs/{org}/members/{member}", None, ["owner", "admin"], 204),
    ("get", "/v1/orgs/{org}/invites", None, ["owner", "admin"], 200),
    ("post", "/v1/orgs/{org}/invites", {"email": "new@example.test", "role": "member"}, ["owner", "admin"], 201),
    ("get", "/v1/orgs/{org}/teams", None, ALL, 200),
    ("post", "/v1/orgs/{org}/teams", {"slug": "bravo", "name": "Bravo"}, ["owner", "admin", "manager"], 201),
    ("get", "/v1/orgs/{org}/teams/alpha", None, ALL, 200),
    ("patch", "/v1/orgs/{org}/teams/alpha", {"routing_strategy": "random"}, ["owner", "admin", "manager"], 200),
    ("delete", "/v1/orgs/{org}/teams/alpha", None, ["owner", "admin", "manager"], 204),
    ("get", "/v1/orgs/{org}/teams/alpha/members", None, ALL, 200),
    ("post", "/v1/orgs/{org}/teams/alpha/members", {"membership_id": "{member}"}, ["owner", "admin", "manager"], 201),
    ("get", "/v1/api-keys", None, ALL, 200),
    ("post", "/v1/api-keys", {"name": "bot"}, ALL, 201),
    ("get", "/v1/events", None, ALL, 200),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize(
    ("method", "template", "body", "allowed", "success"), MATRIX, ids=[f"{m[0]} {m[1]}" for m in MATRIX]
)
def test_role_matrix(org, make_member, role, method, template, body, allowed, success):
    make_member(org, Role.OWNER)  # the org always keeps an owner
    caller = make_member(org, role)
    _team(org)
    member = _target(org)
    fill = {"org": org.slug, "member": member.pk}
    path = template.format(**fill)
    payload = {k: (v.format(**fill) if isinstance(v, str) else v) for k, v in (body or {}).items()} or None
    response = getattr(key_client(caller), method)(path, payload, format="json")
    expected = success if role in allowed else 403
    assert response.status_code == expected, (role, response.content)
    if expected == 403:
        assert response.json()["code"] == "PERMISSION_DENIED"
        assert Membership.objects.filter(pk=member.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_only_owners_grant_owner_and_the_last_owner_stays(org, make_member):
    owner = make_member(org, Role.OWNER)
    admin = make_member(org, Role.ADMIN)
    target = make_member(org, Role.MEMBER)
    response = key_client(admin).patch(f"/v1/orgs/{org.slug}/members/{target.pk}", {"role": "owner"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "OWNER_REQUIRED"
    owner_client = key_client(owner)
    response = owner_client.patch(f"/v1/orgs/{org.slug}/members/{owner.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "LAST_OWNER"
    assert owner_client.delete(f"/v1/orgs/{org.slug}/members/{owner.pk}").status_code == 409
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


@pytest.mark.django_db(transaction=True)
def test_anonymous_gets_401_everywhere_but_public_endpoints(org):
    client = APIClient()
    for route in api_routes():
        declared = route.cls.action_roles
        if all(declared.get(action) == "public" for _, action in route.methods_and_actions):
            continue
        if route.kwarg_names:
            continue  # covered through the concrete paths below
        for method, action in route.methods_and_actions:
            if declared[action] == "public":
                continue
            response = getattr(client, method)("/" + route.route, {}, format="json")
            assert response.status_code == 401, (route.route, method)
    assert client.get(f"/v1/orgs/{org.slug}/teams").status_code == 401
