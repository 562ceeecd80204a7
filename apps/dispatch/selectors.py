"""Dispatch reads: the policy that applies, assignments through for_actor()."""

import uuid

from django.db.models import Q
from django.http import Http404

from apps.dispatch.models import Assignment, Dispatch, DispatchPolicy, default_steps
from apps.orgs.models import Team

DEFAULT_POLICY = {
    "steps": default_steps(),
    "repeat": 3,
    "ack_timeout_seconds": 120,
    "max_concurrent": 1,
    "travel_speed_kmh": 40.0,
}


def policy_for(*, org, team: Team | None, priority: str) -> DispatchPolicy:
    """The most specific active policy (team+priority, team, priority, general), one query;
    an unsaved built-in default when the org has none."""
    team_q = Q(team__isnull=True) | (Q(team=team) if team is not None else Q(pk__in=[]))
    found = list(DispatchPolicy.objects.filter(team_q, Q(priority="") | Q(priority=priority), org=org, active=True))
    if found:
        return max(found, key=lambda p: (p.team_id is not None, p.priority != ""))
    return DispatchPolicy(org=org, name="default", **DEFAULT_POLICY)


def policy_snapshot(policy: DispatchPolicy) -> dict:
    return {
        "policy_id": None if policy._state.adding else str(policy.pk),
        "name": policy.name,
        "steps": policy.steps,
        "repeat": policy.repeat,
        "ack_timeout_seconds": policy.ack_timeout_seconds,
        "max_concurrent": policy.max_concurrent,
        "travel_speed_kmh": policy.travel_speed_kmh,
    }


def policy_from_snapshot(org, snapshot: dict) -> DispatchPolicy:
    fields = {k: snapshot[k] for k in DEFAULT_POLICY if k in snapshot}
    return DispatchPolicy(org=org, name=snapshot.get("name", ""), **fields)


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def access_assignment(actor, assignment_id) -> Assignment:
    assignment = (
        Assignment.objects.for_actor(actor)
        .select_related("incident", "person", "membership__user", "dispatch", "org")
        .filter(pk=_uuid(assignment_id))
        .first()
    )
    if assignment is None:
        raise Http404
    return assignment


def assignment_list(*, fetched_by, state: str | None = None, incident_id=None, mine: bool = False):
    queryset = Assignment.objects.for_actor(fetched_by).select_related("membership__user", "person")
    if state:
        queryset = queryset.filter(state=state)
    if incident_id:
        queryset = queryset.filter(incident_id=_uuid(incident_id))
    if mine:
        queryset = queryset.filter(membership_id=fetched_by.membership_id)
    return queryset


def incident_dispatch_state(*, incident) -> dict:
    """For the war room and the incident page: the latest run, its assignments and countdown."""
    run = Dispatch.objects.filter(incident=incident).order_by("-id").first()
    if run is None:
        return {"dispatch": None, "assignments": []}
    assignments = list(run.assignments.select_related("membership__user", "person").order_by("offered_at", "id"))
    return {"dispatch": run, "assignments": assignments}
