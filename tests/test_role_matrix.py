"""The role × endpoint matrix: every declared route (tests/routes.py ROUTES) called by every
org role with an API key, by two roles with a session (cookie) and by an anonymous client,
against one shared org. SPEC §2's capability for the
action decides: an allowed role gets the declared success status (never 403), another role
403 PERMISSION_DENIED, an anonymous caller 401 (public routes: allowed for everyone).
Each case runs in its own savepoint, so a call's writes never reach the next case."""

import pytest

from apps.orgs.roles import AUTHENTICATED, PUBLIC
from tests import routes
from tests.routes import OK_BY_METHOD, ROLES, SESSION_ROLES, SPEC_ROLES

ANONYMOUS = "anonymous"

# (route name, action, role) → why the app is wrong today (the lead fixes; strict xfail).
KNOWN_WRONG: dict[tuple[str, str, str], str] = {
    ("schedule-feed-detail", "destroy", "frontdesk on others'"): (
        "ScheduleFeedQuerySet.for_actor lets frontdesk see every feed, and destroy uses it: frontdesk "
        "revokes anyone's iCal feed, though only schedulers may create another person's feed"
    ),
}


@pytest.fixture(autouse=True)
def _media_in_tmp():
    """The shared world keeps its uploads for the whole module (see `world`)."""


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with routes.module_world(django_db_blocker, tmp_path_factory.mktemp("media")) as (world,):
        yield world


def expected(case, role) -> tuple[int, ...]:
    role = role.split("/")[0]
    roles = SPEC_ROLES[case.call.spec]
    ok = case.call.ok or OK_BY_METHOD[case.method]
    if roles == PUBLIC:
        return ok
    if role == ANONYMOUS:
        return (401,)
    if roles == AUTHENTICATED or role in roles:
        return ok
    return (403,)


def _params():
    params = []
    for case in routes.cases():
        for role in [*ROLES, *(f"{r}/session" for r in SESSION_ROLES), ANONYMOUS]:
            reason = KNOWN_WRONG.get((case.route.name, case.action, role))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, role, id=f"{case.id} as {role}", marks=marks))
        if case.call.others is None:
            continue
        for role in ROLES:
            if expected(case, role) == (403,):
                continue  # refused by role already
            reason = KNOWN_WRONG.get((case.route.name, case.action, f"{role} on others'"))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, role, id=f"{case.id} as {role} on someone else's", marks=marks))
    return params


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "role"), [p for p in _params() if not p.id.endswith("else's")])
def test_role_matrix(world, case, role):
    ctx = routes.context(world, None if role == ANONYMOUS else role.split("/")[0])
    client = world.clients[None if role == ANONYMOUS else role]
    response = routes.request(client, case, ctx)
    want = expected(case, role)
    assert response.status_code in want, (
        f"{case.id} as {role}: {response.status_code}, expected {want} ({case.call.spec}); {response.content[:400]!r}"
    )
    if want == (403,):
        assert response.json()["code"] == "PERMISSION_DENIED"


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "role"), [p for p in _params() if p.id.endswith("else's")])
def test_row_level_rules(world, case, role):
    """The same call on someone else's object (SPEC's "own bookings", "assigned to them" …)."""
    others = case.call.others
    ctx = routes.context(world, role)
    kwargs = {**routes.url_kwargs(case.route, case.call, ctx), **(routes.resolve(others.url, ctx) or {})}
    body = {**(routes.resolve(case.call.body, ctx) or {}), **(routes.resolve(others.body, ctx) or {})}
    response = routes.request(world.clients[role], case, ctx, kwargs=kwargs, body=body)
    want = (case.call.ok or OK_BY_METHOD[case.method]) if role in others.who else others.refused
    assert response.status_code in want, (
        f"{case.id} as {role} on someone else's: {response.status_code}, expected {want}; {response.content[:400]!r}"
    )
