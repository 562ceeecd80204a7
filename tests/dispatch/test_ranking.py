"""Ranking: who is a candidate, in which order, and why the others are not — properties
checked on generated responders (seeded, so a failure replays)."""

import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dispatch import ranking, selectors, services
from apps.dispatch.models import ACTIVE_STATES, Assignment
from apps.incidents import clock
from apps.orgs.models import Role, TeamMember
from apps.scheduling.freebusy import free_busy
from apps.scheduling.models import ScheduleEntry
from apps.signals.models import Beacon
from apps.signals.services import live_key
from tests.conftest import key_client
from tests.dispatch.factories import BASE, make_policy, make_responder
from tests.factories import MembershipFactory, TeamFactory
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db

SKILLS = ["hvac", "electrical", "plumbing", "first_aid", "ladder"]


def near(km_north: float) -> tuple[float, float]:
    return (BASE[0] + km_north / 111.2, BASE[1])


def rank(incident, team=None):
    return services.dispatch_rank(actor=None, incident=incident, team=team)[1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_org_never_offers_missing_skill_or_off_duty(org, seed):
    rnd = random.Random(seed)
    for _ in range(25):
        make_responder(
            org,
            at=near(rnd.uniform(0, 30)),
            skills=rnd.sample(SKILLS, rnd.randint(0, 4)),
            on_duty=rnd.choice(["on_call", "availability", None]),
        )
    for _ in range(5):
        required = rnd.sample(SKILLS, rnd.randint(0, 2))
        incident = make_incident(org, lat=BASE[0], lng=BASE[1], required_skills=required, priority="urgent")
        ranked = rank(incident)
        assert len(ranked) == 25
        for candidate in ranked:
            pt_skills = set(candidate.person.membership.skills)
            if not set(required) <= pt_skills:
                assert "missing_skill" in candidate.excluded and not candidate.eligible
                assert candidate.missing_skills == sorted(set(required) - pt_skills)
        run, ranked = services.dispatch_start(actor=None, incident=incident)
        for assignment in run.assignments.all():
            assert set(required) <= set(assignment.membership.skills)
            candidate = next(c for c in ranked if c.person.pk == assignment.person_id)
            assert candidate.eligible and "off_duty" not in candidate.excluded
        # eligible first, by score then id; excluded after, by id
        eligible = [c for c in ranked if c.eligible]
        assert ranked[: len(eligible)] == eligible
        assert [(c.score, str(c.person.pk)) for c in eligible] == sorted((c.score, str(c.person.pk)) for c in eligible)
        excluded = ranked[len(eligible) :]
        assert [str(c.person.pk) for c in excluded] == sorted(str(c.person.pk) for c in excluded)


def test_off_duty_responder_is_excluded_with_the_reason(org):
    off = make_responder(org, on_duty=None)
    on = make_responder(org, on_duty="availability")
    ranked = {c.person.pk: c for c in rank(make_incident(org, lat=BASE[0], lng=BASE[1]))}
    assert ranked[off.pk].excluded == ["off_duty"]
    assert ranked[on.pk].eligible


def test_equal_load_nearer_wins_and_parts_explain_it(org):
    far = make_responder(org, at=near(10))
    close = make_responder(org, at=near(2))
    ranked = rank(make_incident(org, lat=BASE[0], lng=BASE[1]))
    assert [c.person.pk for c in ranked] == [close.pk, far.pk]
    parts = ranked[0].parts
    assert parts["load"] == 0 and 1.9 < parts["distance_km"] < 2.1
    # 2 km at the default 40 km/h is 3 minutes
    assert abs(parts["travel_minutes"] - 3.0) < 0.2
    assert ranked[0].position_source == "location"


def test_ties_are_broken_by_id_and_stable(org):
    people = [make_responder(org, at=near(5)) for _ in range(6)]
    incident = make_incident(org, lat=BASE[0], lng=BASE[1])
    first = [c.person.pk for c in rank(incident)]
    assert first == sorted(p.pk for p in people)
    assert all([c.person.pk for c in rank(incident)] == first for _ in range(3))


def test_position_prefers_live_beacon_then_home_then_location(org, make_member):
    beaconed = make_responder(org, at=near(30), home=near(20))
    home = make_responder(org, at=near(30), home=near(10))
    nowhere = make_responder(org, at=None)
    # the beacon puts the first responder 1 km from the incident
    response = key_client(beaconed.membership).post(
        "/v1/signals/beacon", {"lat": near(1)[0], "lng": near(1)[1]}, format="json"
    )
    assert response.status_code in (200, 201), response.content
    ranked = {c.person.pk: c for c in rank(make_incident(org, lat=BASE[0], lng=BASE[1]))}
    assert ranked[beaconed.pk].position_source == "beacon" and ranked[beaconed.pk].parts["distance_km"] < 1.1
    assert ranked[home.pk].position_source == "home"
    assert ranked[nowhere.pk].excluded == ["no_position"]
    # without a position on the incident, distance plays no part and nobody is excluded for it
    ranked = {c.person.pk: c for c in rank(make_incident(org))}
    assert ranked[nowhere.pk].eligible


def test_busy_responder_is_excluded(org):
    busy = make_responder(org)
    now = clock.now()
    entry = ScheduleEntry.objects.create(
        org=org, title="job", start=now - timedelta(minutes=5), end=now + timedelta(hours=1), timezone="UTC"
    )
    entry.assignees.set([busy.membership])
    ranked = rank(make_incident(org))
    assert ranked[0].excluded == ["busy"]


def test_load_balances_over_many_incidents(org):
    people = [make_responder(org, at=near(i)) for i in range(4)]
    make_policy(org, max_concurrent=3)
    offered = []
    for _ in range(8):
        run, _ = services.dispatch_start(actor=None, incident=make_incident(org, lat=BASE[0], lng=BASE[1]))
        assignment = run.assignments.get()
        services.assignment_acknowledge(actor=None, assignment=assignment)
        offered.append(assignment.person_id)
    counts = {p.pk: offered.count(p.pk) for p in people}
    # the nearest is not sent to everything: load spreads the work over the team
    assert max(counts.values()) <= 3 and sum(1 for n in counts.values() if n) >= 3
    assert Assignment.objects.filter(state="acknowledged").count() == 8


def test_team_restricts_candidates(org):
    team = TeamFactory(org=org)
    inside = make_responder(org)
    make_responder(org)
    TeamMember.objects.create(org=org, team=team, membership=inside.membership)
    ranked = rank(make_incident(org), team=team.slug)
    assert [c.person.pk for c in ranked] == [inside.pk]


def test_query_count_does_not_grow_with_candidates(org, make_org):
    def queries(n):
        other = make_org()
        for i in range(n):
            make_responder(other, at=near(i % 20), skills=["hvac"])
        incident = make_incident(other, lat=BASE[0], lng=BASE[1], required_skills=["hvac"])
        policy = selectors.policy_for(org=other, team=None, priority=incident.priority)
        with CaptureQueriesContext(connection) as ctx:
            ranked = ranking.rank(incident=incident, policy=policy, now=clock.now())
            [c.as_json() for c in ranked]
        assert len(ranked) == n
        return len(ctx.captured_queries)

    assert queries(3) == queries(30)


def test_dry_run_over_http_lists_every_candidate_and_writes_nothing(org, make_member):
    dispatcher = key_client(make_member(org, Role.SCHEDULER))
    make_responder(org, skills=["hvac"])
    make_responder(org, skills=[])
    incident = make_incident(org, lat=BASE[0], lng=BASE[1], required_skills=["hvac"])
    response = dispatcher.post(f"/v1/incidents/{incident.pk}/dispatch", {"dry_run": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["dispatch"] is None and body["offered"] == []
    assert [c["eligible"] for c in body["candidates"]] == [True, False]
    assert body["candidates"][1]["excluded"] == ["missing_skill"] and body["candidates"][1]["missing_skills"] == [
        "hvac"
    ]
    assert set(body["candidates"][0]["parts"]) >= {"travel_minutes", "load", "idle_minutes"}
    assert not Assignment.objects.exists()


def test_bad_input_is_problem_json(org, make_member):
    dispatcher = key_client(make_member(org, Role.SCHEDULER))
    incident = make_incident(org)
    for body in ({"team": "nope"}, {"dry_run": "maybe"}, {"surprise": 1}, {"person_id": "not-a-uuid"}):
        response = dispatcher.post(f"/v1/incidents/{incident.pk}/dispatch", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response["Content-Type"] == "application/problem+json"
    member = key_client(MembershipFactory(org=org, role=Role.MEMBER))
    assert member.post(f"/v1/incidents/{incident.pk}/dispatch", {}, format="json").status_code == 403


def test_a_dispatch_with_an_idempotency_key_is_stored_and_replayed(org, make_member):
    """Its result holds ids as UUIDs: the stored copy of the response is plain JSON (found by the
    fuzzer: the jsonb write failed and the call answered 500)."""
    dispatcher = key_client(make_member(org, Role.SCHEDULER))
    make_responder(org, skills=["hvac"])
    incident = make_incident(org, lat=BASE[0], lng=BASE[1], required_skills=["hvac"])
    url = f"/v1/incidents/{incident.pk}/dispatch"
    first = dispatcher.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="dispatch-1")
    assert first.status_code in (200, 201), first.content
    replay = dispatcher.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="dispatch-1")
    assert replay.status_code == first.status_code and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Assignment.objects.filter(incident=incident).count() == len(first.json()["offered"])


def _reference_rank(incident, policy, now):
    """The ranking as first written, from full models one by one (the judge of the light path)."""
    people = list(ranking.candidates_queryset(org=incident.org))
    times = free_busy(
        org=incident.org,
        start=now,
        end=now + ranking.BUSY_WINDOW,
        people=people,
        exclude_refs=[
            str(a.schedule_entry_id)
            for a in Assignment.objects.filter(org=incident.org, state__in=ACTIVE_STATES)
            if a.schedule_entry_id
        ],
    )
    target = (incident.lat, incident.lng) if incident.lat is not None else None
    out = []
    for person in people:
        mine = Assignment.objects.filter(person=person)
        active = mine.filter(state__in=ACTIVE_STATES).count()
        last = max((a.offered_at for a in mine), default=None)
        pt = times[person.pk]
        excluded = [] if pt.on_duty(now) else ["off_duty"]
        skills = set(person.membership.skills or [])
        missing = sorted(s for s in incident.required_skills if s not in skills)
        if missing:
            excluded.append("missing_skill")
        if pt.is_busy(now, now + ranking.BUSY_WINDOW) or active >= policy.max_concurrent:
            excluded.append("busy")
        beacon = Beacon.objects.active().filter(membership=person.membership).first()
        live = cache.get(live_key(incident.org_id, person.membership_id)) if beacon else None
        position, source = None, ""
        if live and live["beacon_id"] == str(beacon.pk):
            position, source = (float(live["lat"]), float(live["lng"])), "beacon"
        elif person.home_lat is not None:
            position, source = (float(person.home_lat), float(person.home_lng)), "home"
        elif person.location.lat is not None:
            position, source = (float(person.location.lat), float(person.location.lng)), "location"
        if target is not None and position is None:
            excluded.append("no_position")
        km = ranking.haversine_km(position, target) if target and position else None
        travel = ranking.travel_minutes(position, target, speed_kmh=policy.travel_speed_kmh) if km is not None else 0.0
        idle = ranking.IDLE_CAP if last is None else min(ranking.IDLE_CAP, max(timedelta(0), now - last))
        bonus = ranking.IDLE_BONUS * idle / ranking.IDLE_CAP
        score = travel + ranking.LOAD_MINUTES * active - bonus
        out.append(
            {
                "person_id": str(person.pk),
                "membership_id": str(person.membership_id),
                "name": person.name or person.membership.user.name or person.membership.user.email,
                "eligible": not excluded,
                "score": round(score, 3),
                "parts": {
                    "travel_minutes": round(travel, 3),
                    "distance_km": None if km is None else round(km, 3),
                    "load": active,
                    "load_minutes": ranking.LOAD_MINUTES * active,
                    "idle_minutes": round(idle.total_seconds() / 60, 1),
                    "idle_bonus": round(bonus, 3),
                },
                "excluded": excluded,
                "missing_skills": missing,
                "position": None if position is None else {"lat": position[0], "lng": position[1]},
                "position_source": source or None,
                "_key": (0, score, str(person.pk)) if not excluded else (1, 0.0, str(person.pk)),
            }
        )
    out.sort(key=lambda c: c.pop("_key"))
    return out


@pytest.mark.parametrize("seed", [7, 8])
def test_light_ranking_equals_the_model_by_model_reference(org, seed):
    rnd = random.Random(seed)
    people = [
        make_responder(
            org,
            at=near(rnd.uniform(0, 30)) if rnd.random() < 0.8 else None,
            home=near(rnd.uniform(0, 30)) if rnd.random() < 0.3 else None,
            skills=rnd.sample(SKILLS, rnd.randint(0, 4)),
            on_duty=rnd.choice(["on_call", "availability", None]),
        )
        for _ in range(30)
    ]
    for person in rnd.sample(people, 8):  # live beacons
        response = key_client(person.membership).post(
            "/v1/signals/beacon", {"lat": near(rnd.uniform(0, 5))[0], "lng": BASE[1]}, format="json"
        )
        assert response.status_code in (200, 201), response.content
    make_policy(org, max_concurrent=2)
    for _ in range(4):  # some load and some history
        services.dispatch_start(actor=None, incident=make_incident(org, lat=BASE[0], lng=BASE[1]))
    incident = make_incident(org, lat=BASE[0], lng=BASE[1], required_skills=rnd.sample(SKILLS, rnd.randint(0, 2)))
    policy = selectors.policy_for(org=org, team=None, priority=incident.priority)
    now = clock.now()
    light = [c.as_json() for c in ranking.rank(incident=incident, policy=policy, now=now)]
    assert light == _reference_rank(incident, policy, now)
