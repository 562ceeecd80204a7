"""Who may do what: every action declares its roles, every route is declared for the role
matrix (tests/test_role_matrix.py, which also calls every route anonymously) and the tenancy
harness, and the declared roles are SPEC §2's."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.orgs.models import Membership, Role
from schedkit.api.views import SchedKitMixin, SchedKitViewSet
from tests import routes
from tests.conftest import key_client
from tests.routes import NON_API_ROUTES, ROUTES, SPEC_ROLES, api_routes

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
    request = APIRequestFactory().post("/x", {}, format="json")
    with pytest.raises(ImproperlyConfigured, match="does not declare"):
        view(request)


def test_every_route_is_declared_for_the_matrix_and_the_harness():
    """A routed action without a declaration in tests/routes.py ROUTES fails here."""
    missing, seen = [], set()
    for route in api_routes():
        for method, action in route.methods_and_actions:
            seen.add((route.name, action))
            if routes.declaration(route, action) is None:
                missing.append(f'ROUTES["{route.name}"]["{action}"]  ({method.upper()} {route.path})')
    assert not missing, "declare these in tests/routes.py ROUTES (see its docstring):\n  " + "\n  ".join(missing)
    stale = [f"{name}/{action}" for name, calls in ROUTES.items() for action in calls if (name, action) not in seen]
    assert not stale, f"tests/routes.py ROUTES declares routes that no longer exist: {stale}"
    other = [
        f"{regex} (name={pattern.name!r})"
        for regex, pattern in routes.all_api_patterns()
        if not issubclass(getattr(pattern.callback, "cls", type), APIView) and pattern.name not in NON_API_ROUTES
    ]
    assert not other, f"non-DRF API routes: declare them in tests/routes.py NON_API_ROUTES with their test: {other}"


def test_declared_roles_match_the_spec():
    """Each view's `action_roles` is the SPEC §2 capability its route declaration names."""
    wrong = []
    for case in routes.cases():
        declared, spec = case.route.cls.action_roles[case.action], SPEC_ROLES[case.call.spec]
        if declared != spec:
            show = lambda roles: roles if isinstance(roles, str) else sorted(map(str, roles))  # noqa: E731
            wrong.append(f"{case.id} ({case.action}): declares {show(declared)}, SPEC {case.call.spec} = {show(spec)}")
    assert not wrong, "\n".join(wrong)


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
