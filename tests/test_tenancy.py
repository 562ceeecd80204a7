"""The org-isolation harness: every org-scoped route (tests/routes.py ROUTES) walked by org
B's owner with org A's ids — in the URL, in each body field and in each query parameter
that carries an id.

The contract (SPEC §2 "another org's objects answer 404"), decided for the three places:
- URL: 404 problem+json, exactly what a made-up id of the same shape answers;
- body: 404, or 400 — in both cases exactly what a made-up id answers (same status, code and
  detail), so the answer tells nothing about whether the id exists elsewhere;
- query parameter (a filter): exactly what a made-up id answers (an empty page, or the same
  400/404);
and always: nothing of org A changes (every org A row is fingerprinted before and after,
tests/tenancy.py OrgSnapshot), and no id of any org A row appears in the answer. Org B's own
call (its own ids: variant "own", which is how every list is checked for org A's rows) must
succeed first, so a route that fails for everyone cannot pass. Plus: naming org A — by slug
in the URL, or (routes without one) in `X-Org` or `?org=` — is 404 ORG_NOT_FOUND.

The schema check fails for a request field or query parameter of the OpenAPI document that
looks like an id and is not declared (`ids` / `query_ids` / `not_ids` in tests/routes.py)."""

import json
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from apps.orgs.models import Org
from schedkit.api.views import SchedKitMixin
from tests import routes, tenancy
from tests.conftest import key_client
from tests.factories import MembershipFactory, OrgFactory
from tests.incidents.factories import make_incident
from tests.routes import OK_BY_METHOD
from tests.tenancy import OrgSnapshot

pytestmark = pytest.mark.services  # OrgSnapshot fingerprints rows with PostgreSQL's md5/string_agg

# (route name, action, variant) → why the app is wrong today (the lead fixes; strict xfail).
KNOWN_LEAKS: dict[tuple[str, str, str], str] = {}

# What another org's id may answer, by where it was sent (and always what a made-up id answers).
# Body ids answer 400 today where an app validates them as input (incidents' and schedule
# entries' assignee_ids and incident_id, schedule feeds' membership_id/team_id) and 404 where
# it resolves them with access_*(); tighten "body" to (404,) once they all resolve alike.
FOREIGN_ID_STATUSES = {"url": (404,), "body": (400, 404)}

ID_LIKE = re.compile(r"(_id|_ids)$|^(assignee|person|team|membership|user|incident|location|slot)$")


def id_source(world, name: str):
    """Org `world`'s object for an id field a declaration's body or query does not fill."""
    sources = {
        "membership_id": world.members["member"].pk,
        "membership": world.members["member"].pk,
        "assignee": world.members["member"].pk,
        "assignee_id": world.members["member"].pk,
        "assignee_ids": world.members["member"].pk,
        "incident": world.incident.pk,
        "endpoint_id": world.endpoint.pk,
        "event_id": world.event.pk,
        "person": world.members["member"].pk,
        "user": world.members["member"].user.pk,
        "team_id": world.team.pk,
        "team": world.team.pk,
        "incident_id": world.incident.pk,
        "location_id": world.location.pk,
        "person_id": world.host.pk,
        "slot_id": world.slot.pk,
        "event_type_id": world.event_type.pk,
    }
    value = str(sources[name])
    return [value] if name.endswith("_ids") else value


@pytest.fixture(autouse=True)
def _media_in_tmp():
    """The shared worlds keep their uploads for the whole module (see `worlds`)."""


@pytest.fixture(scope="module")
def worlds(django_db_setup, django_db_blocker, tmp_path_factory):
    with routes.module_world(django_db_blocker, tmp_path_factory.mktemp("media"), orgs=2) as (world_a, world_b):
        with django_db_blocker.unblock():
            world_a.ids = tenancy.org_ids(world_a.org)
        yield world_a, world_b


@contextmanager
def rolled_back():
    """Each call sees the module's pristine worlds: its writes are undone right after."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def walked_cases():
    return [c for c in routes.cases() if c.call.tenancy is None]


def text_of(response) -> str:
    if not hasattr(response, "text_once"):
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        response.text_once = raw.decode(errors="replace")
    return response.text_once


def _normalized(response, replace: dict[str, str]) -> tuple:
    text = text_of(response)
    for value, placeholder in replace.items():
        text = text.replace(value, placeholder)
    try:
        body = json.loads(text)
    except ValueError:
        return response.status_code, text
    if isinstance(body, dict) and "code" in body:  # a problem: what it says, not where
        body = {k: body.get(k) for k in ("status", "code", "detail", "errors")}
    return response.status_code, body


def _sent(value) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else {str(value)}


def _made_up(value):
    return [str(uuid.uuid4()) for _ in value] if isinstance(value, list) else str(uuid.uuid4())


def id_groups(case) -> list[list[str]]:
    """The URL kwargs naming objects: each alone, and all together when there are several."""
    org_kwarg = getattr(case.route.cls, "org_url_kwarg", None)
    kwargs = [k for k in case.route.kwarg_names if k != org_kwarg]
    return [[k] for k in kwargs] + ([kwargs] if len(kwargs) > 1 else [])


def variant_names(case) -> list[str]:
    names = ["own"]
    if getattr(case.route.cls, "org_url_kwarg", None) in case.route.kwarg_names:
        names.append("org-slug")
    else:
        names += ["org-header", "org-param"]
    names += [f"url:{'+'.join(group)}" for group in id_groups(case)]
    names += [f"body:{name}" for name in case.call.ids] + [f"query:{name}" for name in case.call.query_ids]
    return names


@dataclass
class Swap:
    """Org B's request with org A's id(s) in one place, and its twin with made-up ids."""

    kind: str  # url | body | query
    foreign: dict  # routes.request() overrides
    made_up: dict
    sent: dict  # the values sent → a placeholder, for comparing the two answers


def swap(case, variant: str, world_a, world_b) -> Swap:
    kind, _, name = variant.partition(":")
    ctx_a, ctx_b = routes.context(world_a, "owner"), routes.context(world_b, "owner")
    if kind == "url":
        group = name.split("+")
        kwargs_a, kwargs_b = (routes.url_kwargs(case.route, case.call, ctx) for ctx in (ctx_a, ctx_b))
        foreign = {**kwargs_b, **{k: kwargs_a[k] for k in group}}
        made_up = {**kwargs_b, **{k: str(uuid.uuid4()) for k in group}}
        sent = {str(foreign[k]): "<ID>" for k in group} | {str(made_up[k]): "<ID>" for k in group}
        return Swap(kind, {"kwargs": foreign}, {"kwargs": made_up}, sent)
    part = "body" if kind == "body" else "query"
    mine = routes.resolve(getattr(case.call, part), ctx_b) or {}
    theirs = routes.resolve(getattr(case.call, part), ctx_a) or {}
    value = theirs[name] if name in theirs else id_source(world_a, name)
    fake = _made_up(value)
    sent = dict.fromkeys(_sent(value) | _sent(fake), "<ID>")
    return Swap(kind, {part: {**mine, name: value}}, {part: {**mine, name: fake}}, sent)


def _params():
    params = []
    for case in walked_cases():
        for name in variant_names(case):
            reason = KNOWN_LEAKS.get((case.route.name, case.action, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, name, id=f"{case.id} {name}", marks=marks))
    return params


def test_every_org_scoped_route_is_walked():
    """Routes the harness skips say why; an org-scoped route (org from the caller) never skips."""
    skipped_scoped = [
        c.id
        for c in routes.cases()
        if c.call.tenancy is not None and getattr(c.route.cls, "org_scoped", False) and c.call.spec != "public"
    ]
    assert not skipped_scoped, f"org-scoped routes must be walked by the tenancy harness: {skipped_scoped}"
    assert len(walked_cases()) >= 80


@pytest.mark.django_db
def test_every_id_field_of_the_schema_is_declared():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def properties(node):
        if "$ref" in node:
            node = components[node["$ref"].split("/")[-1]]
        names = set(node.get("properties", {}))
        for sub in node.get("allOf", []) + node.get("oneOf", []):
            names |= properties(sub)
        return names

    undeclared = []
    for case in walked_cases():
        operation = schema["paths"].get(case.route.path, {}).get(case.method)
        assert operation is not None, f"{case.id} is not in the OpenAPI document under {case.route.path}"
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        body = set()
        for content in operation.get("requestBody", {}).get("content", {}).values():
            body |= properties(content["schema"])
        declared = set(case.call.ids) | set(case.call.query_ids) | set(case.call.not_ids)
        for name in sorted((query | body) - declared):
            if ID_LIKE.search(name):
                where = "query_ids" if name in query else "ids"
                undeclared.append(f'ROUTES["{case.route.name}"]["{case.action}"]: {where} += "{name}"')
    assert not undeclared, "declare these id fields in tests/routes.py:\n  " + "\n  ".join(undeclared)


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "variant"), _params())
def test_foreign_ids_answer_like_made_up_ones(worlds, case, variant):
    world_a, world_b = worlds
    ctx_b = routes.context(world_b, "owner")
    client_b = world_b.clients["owner"]
    before = OrgSnapshot(world_a.org)

    if variant.startswith("org-"):  # org B's caller naming org A: URL slug, X-Org header, ?org=
        if variant == "org-slug":
            kwargs = {**routes.url_kwargs(case.route, case.call, ctx_b), case.route.cls.org_url_kwarg: world_a.org.slug}
            response = routes.request(client_b, case, ctx_b, kwargs=kwargs)
        elif variant == "org-header":  # a session chooses its org so; an API key's org is fixed
            response = routes.request(client_b, case, ctx_b, headers={"X-Org": world_a.org.slug})
            assert response.status_code == 404, (case.id, "API key with X-Org", response.content)
            client = world_b.clients["manager/session"]
            response = routes.request(client, case, ctx_b, headers={"X-Org": world_a.org.slug})
        else:
            query = {**(routes.resolve(case.call.query, ctx_b) or {}), "org": world_a.org.slug}
            response = routes.request(world_b.clients["manager/session"], case, ctx_b, query=query)
        assert response.status_code == 404, (case.id, variant, response.content)
        assert response.json()["code"] == "ORG_NOT_FOUND"
        assert OrgSnapshot(world_a.org).changed_since(before) == []
        return

    with rolled_back():
        own = routes.request(client_b, case, ctx_b)
        changed = OrgSnapshot(world_a.org).changed_since(before)
    assert own.status_code in (case.call.ok or OK_BY_METHOD[case.method]), (
        f"harness sanity: org B's own call {case.id} answered {own.status_code}: {own.content[:300]!r}"
    )
    if variant == "own":  # org B's own call, its own ids: never shows or touches org A
        assert changed == [], f"{case.id}: org B's own call changed org A's {changed}"
        leaked = {i for i in world_a.ids if i in text_of(own)}
        assert not leaked, f"{case.id}: org A's ids in org B's answer: {sorted(leaked)[:5]}"
        return
    swapped = swap(case, variant, world_a, world_b)
    kind, sent = swapped.kind, swapped.sent
    with rolled_back():
        response = routes.request(client_b, case, ctx_b, **swapped.foreign)
        changed = OrgSnapshot(world_a.org).changed_since(before)
    assert changed == [], f"{case.id} {variant}: org B's call changed org A's {changed}"
    leaked = {i for i in world_a.ids if i in text_of(response)} - set(sent)
    assert not leaked, f"{case.id} {variant}: org A's ids in org B's answer: {sorted(leaked)[:5]}"
    with rolled_back():
        twin = routes.request(client_b, case, ctx_b, **swapped.made_up)
    if kind in ("url", "body"):
        assert response.status_code in FOREIGN_ID_STATUSES[kind], (
            f"{case.id} {variant}: org A's id answered {response.status_code}: {response.content[:300]!r}"
        )
    assert _normalized(response, sent) == _normalized(twin, sent), (
        f"{case.id} {variant}: org A's id is distinguishable from a made-up one"
    )


@pytest.mark.django_db
def test_the_snapshot_sees_every_kind_of_change(make_org, make_member):
    org, other = make_org(), make_org()
    member = make_member(org)
    incident = make_incident(org)
    org_ids = tenancy.org_ids(org)
    assert str(incident.pk) in org_ids and str(member.pk) in org_ids and not org_ids & tenancy.org_ids(other)
    before = OrgSnapshot(org)
    assert OrgSnapshot(org).changed_since(before) == []
    incident.assignees.add(member)  # a many-to-many link
    after_link = OrgSnapshot(org)
    assert after_link.changed_since(before) == ["incidents_incident_assignees"]
    member.user.name = "Changed"
    member.user.save()  # a member's user row
    assert OrgSnapshot(org).changed_since(after_link) == ["accounts_user"]
    make_member(other)
    assert OrgSnapshot(org).changed_since(after_link) == ["accounts_user"]  # another org's rows do not count


@pytest.mark.django_db
def test_org_list_shows_only_the_callers_orgs():
    _org_a, org_b = OrgFactory(), OrgFactory()  # org A exists and must not show
    client_b = key_client(MembershipFactory(org=org_b, role="owner"))
    slugs = {o["slug"] for o in client_b.get("/v1/orgs").json()["results"]}
    assert slugs == {org_b.slug}


def test_every_org_scoped_model_is_registered_with_the_harness():
    def model_of(route):
        queryset = getattr(route.cls, "queryset", None)
        return queryset.model if queryset is not None else None

    missing = {
        f"{route.route} → {model_of(route).__name__}"
        for route in routes.api_routes()
        if issubclass(route.cls, SchedKitMixin)
        and (route.cls.org_scoped or route.cls.org_url_kwarg)
        and model_of(route) not in (None, Org)
        and model_of(route) not in tenancy.REGISTRY
    }
    assert not missing, f"register these models in tests/factories.py with @tenancy.register: {sorted(missing)}"
