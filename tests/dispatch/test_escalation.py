"""The escalation chain on a settable clock (apps.incidents.clock): a timeout moves to the
next step, a decline at once, K rounds then the admins, an ack after the deadline is 409.
Timers are fired by the sweep (what beat runs), exactly as a late or lost ETA task would."""

from datetime import timedelta

import pytest
from django.core import mail

from apps.dispatch import services
from apps.dispatch.models import Assignment, Dispatch, EscalationTimer
from apps.events.models import Event
from apps.incidents import clock
from apps.orgs.models import Role, TeamMember
from apps.scheduling.models import ScheduleEntry
from tests.conftest import key_client
from tests.dispatch.factories import BASE, make_policy, make_responder
from tests.factories import MembershipFactory, TeamFactory
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def travel(monkeypatch):
    """Move the dispatch/SLA clock: travel(seconds) from the real now."""
    start = clock.now()

    def go(seconds: float):
        instant = start + timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "now", lambda: instant)
        return instant

    go(0)
    return go


def near(km):
    return (BASE[0] + km / 111.2, BASE[1])


def chain(org, n=3, **policy):
    people = [make_responder(org, at=near(i + 1)) for i in range(n)]
    make_policy(org, **policy)
    incident = make_incident(org, lat=BASE[0], lng=BASE[1], priority="urgent")
    run, _ = services.dispatch_start(actor=None, incident=incident)
    return people, incident, run


def offered(run):
    return list(Assignment.objects.filter(dispatch=run, state="offered").order_by("offered_at", "id"))


def types(org):
    return list(
        Event.objects.filter(org=org, type__startswith="dispatch.").order_by("id").values_list("type", flat=True)
    )


def test_timeout_moves_to_the_next_candidate(org, travel):
    people, incident, run = chain(org, steps=[{"type": "offer"}, {"type": "offer"}], ack_timeout_seconds=60)
    [first] = offered(run)
    assert first.person_id == people[0].pk
    travel(59)
    assert services.escalation_sweep() == 0  # not due yet
    travel(61)
    assert services.escalation_sweep() == 1
    first.refresh_from_db()
    assert first.state == "timed_out"
    [second] = offered(run)
    assert second.person_id == people[1].pk and second.step_index == 1
    assert types(org) == ["dispatch.ranked", "dispatch.offered", "dispatch.escalated", "dispatch.offered"]
    # the lapsed offer no longer holds the responder's time
    assert not ScheduleEntry.objects.filter(assignees=people[0].membership).filter(kind="work").exists()
    assert ScheduleEntry.objects.filter(assignees=people[1].membership, kind="work", incident=incident).exists()


def test_a_timer_fires_once_whoever_gets_there_first(org, travel):
    _, _, run = chain(org, steps=[{"type": "offer"}, {"type": "offer"}], ack_timeout_seconds=60)
    timer = EscalationTimer.objects.get(dispatch=run)
    travel(61)
    assert services.escalation_timer_fire(timer_id=timer.pk) is True
    assert services.escalation_timer_fire(timer_id=timer.pk) is False
    assert services.escalation_sweep() == 0
    assert Assignment.objects.filter(dispatch=run).count() == 2


def test_decline_moves_on_at_once(org, travel, make_member):
    people, _, run = chain(org, steps=[{"type": "offer"}, {"type": "offer"}])
    [first] = offered(run)
    response = key_client(people[0].membership).post(
        f"/v1/assignments/{first.pk}/decline", {"reason": "flat tyre"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "declined"
    [second] = offered(run)
    assert second.person_id == people[1].pk
    assert EscalationTimer.objects.get(assignment=first).state == "cancelled"
    assert "dispatch.declined" in types(org)


@pytest.mark.django_db(transaction=True)  # the notices go out after commit
def test_k_rounds_then_the_org_admins(org, travel):
    admin = MembershipFactory(org=org, role=Role.ADMIN)
    people, incident, run = chain(org, n=1, steps=[{"type": "offer"}], repeat=2, ack_timeout_seconds=30)
    travel(31)
    services.escalation_sweep()
    # round 2 offers the same responder again (timed out, not declined)
    [again] = offered(run)
    assert again.person_id == people[0].pk and again.round == 1
    travel(62)
    services.escalation_sweep()
    run.refresh_from_db()
    assert run.state == Dispatch.State.EXHAUSTED and not offered(run)
    exhausted = Event.objects.get(type="dispatch.exhausted")
    assert str(admin.pk) in exhausted.data["notify_membership_ids"]
    assert any(admin.user.email in m.to and "nobody acknowledged" in m.subject for m in mail.outbox)
    assert incident.activity.filter(verb="dispatched", new__contains="exhausted").exists()


def test_ack_after_the_deadline_is_409_even_before_the_timer_fired(org, travel):
    people, _, run = chain(org, steps=[{"type": "offer"}, {"type": "offer"}], ack_timeout_seconds=60)
    [first] = offered(run)
    client = key_client(people[0].membership)
    travel(61)  # due, but no sweep has run
    response = client.post(f"/v1/assignments/{first.pk}/ack", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "ASSIGNMENT_EXPIRED"
    assert response["Content-Type"] == "application/problem+json"
    first.refresh_from_db()
    assert first.state == "timed_out"  # the refusal escalated, and that stuck
    assert offered(run)[0].person_id == people[1].pk
    again = client.post(f"/v1/assignments/{first.pk}/ack", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "ASSIGNMENT_EXPIRED"


def test_ack_takes_the_incident_and_stops_the_chain(org, travel):
    people, incident, run = chain(org, steps=[{"type": "offer", "count": 2}], ack_timeout_seconds=60)
    first, second = offered(run)
    response = key_client(people[1].membership).post(f"/v1/assignments/{second.pk}/ack", {}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "acknowledged"
    first.refresh_from_db()
    run.refresh_from_db()
    incident.refresh_from_db()
    assert first.state == "withdrawn" and run.state == "acknowledged"
    assert [m.pk for m in incident.assignees.all()] == [people[1].membership_id]
    assert incident.status == "in_progress"
    assert not EscalationTimer.objects.filter(dispatch=run, state="pending").exists()
    travel(3600)
    assert services.escalation_sweep() == 0
    # someone else may not answer for the responder
    other = key_client(people[2].membership)
    assert other.post(f"/v1/assignments/{first.pk}/ack", {}, format="json").status_code in (403, 409)


def test_status_moves_and_release_frees_the_responder(org, travel):
    people, _, run = chain(org, n=1)
    [assignment] = offered(run)
    client = key_client(people[0].membership)
    assert client.post(f"/v1/assignments/{assignment.pk}/ack", {}, format="json").status_code == 200
    for status in ("en_route", "on_scene"):
        response = client.post(f"/v1/assignments/{assignment.pk}/status", {"status": status}, format="json")
        assert response.status_code == 200 and response.json()["state"] == status
    bad = client.post(f"/v1/assignments/{assignment.pk}/status", {"status": "en_route"}, format="json")
    assert bad.status_code == 409 and bad.json()["code"] == "ILLEGAL_TRANSITION"
    travel(1800)
    assert (
        client.post(f"/v1/assignments/{assignment.pk}/status", {"status": "released"}, format="json").status_code == 200
    )
    entry = ScheduleEntry.objects.get(pk=Assignment.objects.get(pk=assignment.pk).schedule_entry_id)
    assert entry.end == clock.now()
    # free again: the next incident may go to them
    run2, _ = services.dispatch_start(actor=None, incident=make_incident(org))
    assert offered(run2)[0].person_id == people[0].pk


@pytest.mark.django_db(transaction=True)
def test_wait_and_notify_steps(org, travel):
    team = TeamFactory(org=org, slug="night")
    watcher = MembershipFactory(org=org)
    TeamMember.objects.create(org=org, team=team, membership=watcher)
    people, _, run = chain(
        org,
        n=2,
        steps=[
            {"type": "offer"},
            {"type": "notify_team", "team": "night"},
            {"type": "wait", "minutes": 5},
            {"type": "offer"},
        ],
        ack_timeout_seconds=60,
    )
    travel(61)
    services.escalation_sweep()
    run.refresh_from_db()
    assert run.step_index == 2 and not offered(run)  # told the night team, now waiting
    notified = Event.objects.filter(type="dispatch.escalated", data__reason="notify_team").get()
    assert notified.data["notify_membership_ids"] == [str(watcher.pk)]
    assert any(watcher.user.email in m.to for m in mail.outbox)
    travel(61 + 299)
    assert services.escalation_sweep() == 0
    travel(61 + 301)
    assert services.escalation_sweep() == 1
    assert offered(run)[0].person_id == people[1].pk


def test_redispatch_cancels_the_running_chain(org, travel):
    people, incident, run = chain(org)
    [first] = offered(run)
    run2, _ = services.dispatch_start(actor=None, incident=incident, person_id=people[2].pk)
    first.refresh_from_db()
    run.refresh_from_db()
    assert first.state == "withdrawn" and run.state == "cancelled"
    assert offered(run2)[0].person_id == people[2].pk
