"""Query-count baselines, kept in one place: tests/query_counts.json.

Every GET route declared in tests/routes.py is called (as the org's owner; public routes
anonymously) against the shared world, once to warm the caches and once measured with
Django's CaptureQueriesContext. The count must equal the baseline in tests/query_counts.json:
- more queries than the baseline fails (a regression, usually an N+1);
- fewer fails too, with the new figure: lower the baseline in the file (or run
  `SCHEDKIT_UPDATE_QUERY_COUNTS=1 pytest tests/test_query_count_matrix.py`, which rewrites
  the file with what it measured — review the diff);
- a GET route without a baseline fails (add it the same way).
Then the world grows (more members, incidents with assignees and comments, recurring entries,
bookings, signals, beacons, events, …) and the count must not change: a list's queries do
not depend on the number of rows."""

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.bookings import services as booking_services
from apps.events.models import Event
from apps.incidents import services as incident_services
from apps.orgs.models import Role, TeamMember
from tests import routes
from tests.factories import MembershipFactory, actor_for
from tests.incidents.factories import make_incident
from tests.schedule.factories import make_entry
from tests.scheduling.factories import make_location, make_person, make_slot
from tests.signals.factories import make_beacon, make_signal

BASELINES = Path(__file__).with_name("query_counts.json")
UPDATE = bool(os.environ.get("SCHEDKIT_UPDATE_QUERY_COUNTS"))
MEASURED: dict[str, int] = {}


def baselines() -> dict:
    return json.loads(BASELINES.read_text())


def get_cases():
    return [c for c in routes.cases() if c.method == "get"]


@pytest.fixture(autouse=True)
def _media_in_tmp():
    """The shared world keeps its uploads for the whole module (see `world`)."""


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with routes.module_world(django_db_blocker, tmp_path_factory.mktemp("media")) as (world,):
        yield world
    if UPDATE and MEASURED:
        data = baselines()
        data["queries"] = dict(sorted({**data["queries"], **MEASURED}.items()))
        BASELINES.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def grow(world, n: int = 4):
    """More rows of every kind the GET routes read."""
    org, owner = world.org, actor_for(world.members["owner"])
    people = [MembershipFactory(org=org, role=Role.MEMBER) for _ in range(n)]
    for i, member in enumerate(people):
        TeamMember.objects.create(org=org, team=world.team, membership=member)
        incident = make_incident(org, title=f"grown {i}", assignees=[member, world.members["member"]])
        incident_services.incident_comment(actor=owner, incident=incident, body=f"note {i}")
        make_entry(
            org,
            title=f"grown {i}",
            start=world.entry_start + timedelta(days=i % 3, hours=i),
            rrule="FREQ=DAILY;COUNT=5",
            assignees=[member, world.members["member"]],
        )
        booking_services.booking_hold(actor_or_none=owner, slot=world.slot, attendee_name=f"g{i}")
        booking_services.booking_book(  # the host's day fills up: host and team slots read more
            event_type=world.event_type,
            start_at=world.at(12) + timedelta(minutes=30 * i),
            attendee_name=f"b{i}",
            attendee_email=f"b{i}@example.test",
        )
        make_entry(
            org,
            title=f"host busy {i}",
            start=world.at(16) + timedelta(minutes=15 * i),
            end=world.at(16) + timedelta(minutes=15 * i + 10),
            assignees=[world.host.membership],
        )
        make_signal(org, membership=member)
        make_beacon(org, membership=member)
        Event.objects.create(org=org, type="test.grown", data={"i": i})
        location = make_location(org, name=f"L{i}")
        make_person(org, location)
        make_slot(location, start=world.at(12) + timedelta(minutes=30 * i))


def measure(client, case, ctx) -> tuple[int, list[str]]:
    routes.request(client, case, ctx)  # warm: API key cache, last_used_at
    with CaptureQueriesContext(connection) as captured:
        response = routes.request(client, case, ctx)
    assert response.status_code in (case.call.ok or (200,)), (case.id, response.status_code, response.content[:300])
    return len(captured.captured_queries), [q["sql"][:160] for q in captured.captured_queries]


def test_every_get_route_has_a_baseline():
    missing = sorted({c.id for c in get_cases()} - set(baselines()["queries"]))
    stale = sorted(set(baselines()["queries"]) - {c.id for c in get_cases()})
    if UPDATE:
        pytest.skip("updating tests/query_counts.json")
    assert not missing, f"add baselines to tests/query_counts.json (see this file's docstring): {missing}"
    assert not stale, f"tests/query_counts.json has baselines for routes that are gone: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("case", get_cases(), ids=lambda c: c.id)
def test_query_count_baseline(world, case):
    public = routes.SPEC_ROLES[case.call.spec] == routes.PUBLIC
    ctx = routes.context(world, None if public else "owner")
    client = world.clients[ctx.role]
    count, sql = measure(client, case, ctx)
    MEASURED[case.id] = count
    baseline = baselines()["queries"].get(case.id)
    if not UPDATE:
        assert baseline is not None, f'no baseline: add "{case.id}": {count} to tests/query_counts.json'
        assert count <= baseline, f"{case.id}: {count} queries, baseline {baseline} (a regression):\n" + "\n".join(sql)
        assert count >= baseline, (
            f"{case.id}: {count} queries, fewer than the baseline {baseline}: lower it in tests/query_counts.json"
        )
    grow(world)
    grown, sql = measure(client, case, ctx)
    assert grown == count, f"{case.id}: {count} queries, {grown} with more rows:\n" + "\n".join(sql)
