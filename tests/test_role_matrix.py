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
KNOWN_WRONG: dict[tuple[str, str, str], str] = {}


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
    return params


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "role"), _params())
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
