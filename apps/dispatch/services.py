"""Every dispatch write: start a run, offer, acknowledge, decline, report status, fire timers.

Lock order (always this way round, so two processes never deadlock):
    incident → dispatch → person row (SKIP LOCKED) → person-time lock → assignment → timer.
A responder is offered under a row lock on their Person taken with SKIP LOCKED: a dispatch
that finds the row locked (another process is offering to them right now) passes them over
instead of waiting (two dispatches ranking people in different orders cannot deadlock).
Holding it, it takes the project's person-time lock (apps.scheduling.locks, which bookings
and schedule entries take too) and re-checks the responder's active assignments and busy
time, so neither two concurrent dispatches nor a dispatch and a booking ever double-book a
responder beyond the policy's `max_concurrent`.

Timers are rows (EscalationTimer). Each is enqueued as a Celery ETA task after commit; the
beat sweep fires any that are overdue (a lost task, a killed worker). Firing locks the row
and exits if it has moved on, so a timer fires once whoever gets there first. An ack after
the deadline is refused (409 ASSIGNMENT_EXPIRED) whether or not the timer has fired yet."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.dispatch import ranking, selectors
from apps.dispatch.models import (
    ACTIVE_STATES,
    STATUS_MOVES,
    Assignment,
    Dispatch,
    DispatchPolicy,
    EscalationTimer,
)
from apps.events.enqueue import enqueue_on_commit
from apps.events.publish import publish_on_commit
from apps.incidents import clock
from apps.incidents import services as incident_services
from apps.incidents.models import ACTIVE_STATUSES, Incident, Status
from apps.orgs.models import Membership, Role, Team
from apps.scheduling.freebusy import free_busy
from apps.scheduling.locks import lock_person_time
from apps.scheduling.models import Person
from apps.scheduling.services import schedule_entry_create, schedule_entry_delete, schedule_entry_update
from schedkit.api.problems import Problem

logger = logging.getLogger(__name__)

#: Length of the `work` entry an offer puts in the responder's schedule (until released).
ENTRY_MINUTES = 60
#: How many candidates a `dispatch.ranked` event carries (the API answer has all of them).
RANKED_IN_EVENT = 20


def _label(actor, label: str | None = None) -> str:
    if label:
        return label
    return actor.ref if actor is not None else "system"


# --- events ----------------------------------------------------------------------------------


def assignment_data(assignment: Assignment) -> dict:
    user = assignment.membership.user
    return {
        "id": assignment.pk,
        "incident_id": assignment.incident_id,
        "dispatch_id": assignment.dispatch_id,
        "membership_id": assignment.membership_id,
        "person_id": assignment.person_id,
        "user_id": user.pk,
        "name": assignment.person.name or user.name or user.email,
        "state": assignment.state,
        "offered_at": assignment.offered_at,
        "ack_deadline": assignment.ack_deadline,
        "acknowledged_at": assignment.acknowledged_at,
        "step_index": assignment.step_index,
        "round": assignment.round,
        "score": assignment.score,
        "schedule_entry_id": assignment.schedule_entry_id,
        "ack_path": f"/v1/assignments/{assignment.pk}/ack",
        "decline_path": f"/v1/assignments/{assignment.pk}/decline",
    }


def _publish(run: Dispatch, type: str, **data) -> None:
    publish_on_commit(
        org=run.incident.org,
        type=type,
        data={
            "dispatch_id": run.pk,
            "incident_id": run.incident_id,
            "incident_title": run.incident.title,
            "state": run.state,
            "step_index": run.step_index,
            "round": run.round,
            **data,
        },
    )


def _activity(incident: Incident, text: str, label: str) -> None:
    incident_services.incident_log_dispatch(incident=incident, text=text, label=label)


# --- ranking (dry run) -----------------------------------------------------------------------


def _resolve_team(org, team) -> Team | None:
    if team in (None, ""):
        return None
    if isinstance(team, Team):
        return team
    found = Team.objects.filter(org=org, slug=str(team)).first()
    if found is None:
        try:
            found = Team.objects.filter(org=org, pk=str(team)).first()
        except Exception:  # noqa: BLE001 - not a uuid: simply not found
            found = None
    if found is None:
        raise ValidationError({"team": ["No such team in this organization."]})
    return found


def dispatch_rank(*, actor, incident: Incident, team=None) -> tuple[DispatchPolicy, list[ranking.Candidate]]:
    """The ranking only (dry run): writes nothing."""
    team = _resolve_team(incident.org, team)
    policy = selectors.policy_for(org=incident.org, team=team, priority=incident.priority)
    return policy, ranking.rank(incident=incident, policy=policy, now=clock.now(), team=team)


# --- starting and running a chain ------------------------------------------------------------


def dispatch_start(
    *, actor, incident: Incident, team=None, person_id=None, label: str | None = None
) -> tuple[Dispatch, list[ranking.Candidate]]:
    """Rank and offer (a re-dispatch cancels the running chain first). `person_id` offers
    that eligible candidate first (a dispatcher's pick), then the chain continues as usual."""
    team = _resolve_team(incident.org, team)
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).select_related("org").get(pk=incident.pk)
        if incident.status not in ACTIVE_STATUSES:
            raise Problem(409, "INCIDENT_NOT_ACTIVE", "Incident not active", f"The incident is {incident.status}.")
        for running in Dispatch.objects.select_for_update().filter(incident=incident, state=Dispatch.State.ACTIVE):
            _finish(running, Dispatch.State.CANCELLED)
            _publish(running, "dispatch.cancelled", reason="re-dispatched")
        policy = selectors.policy_for(org=incident.org, team=team, priority=incident.priority)
        now = clock.now()
        ranked = ranking.rank(incident=incident, policy=policy, now=now, team=team)
        if person_id is not None:
            picked = [c for c in ranked if str(c.person.pk) == str(person_id)]
            if not picked:
                raise ValidationError({"person_id": ["Not a candidate of this dispatch."]})
            if not picked[0].eligible:
                raise Problem(
                    409,
                    "CANDIDATE_NOT_ELIGIBLE",
                    "Candidate not eligible",
                    f"Excluded: {', '.join(picked[0].excluded)}.",
                    excluded=picked[0].excluded,
                )
            ranked = picked + [c for c in ranked if c is not picked[0]]
        run = Dispatch(
            org=incident.org,
            incident=incident,
            team=team,
            policy=None if policy._state.adding else policy,
            policy_snapshot=selectors.policy_snapshot(policy),
            started_by=_label(actor, label),
        )
        run.full_clean()
        run.save()
        _publish(
            run,
            "dispatch.ranked",
            candidates=[c.as_json() for c in ranked[:RANKED_IN_EVENT]],
            considered=len(ranked),
            eligible=sum(1 for c in ranked if c.eligible),
        )
        _activity(
            incident,
            f"dispatch started ({sum(1 for c in ranked if c.eligible)} eligible of {len(ranked)})",
            run.started_by,
        )
        _run(run, ranked=ranked)
    return run, ranked


def _policy(run: Dispatch) -> DispatchPolicy:
    return selectors.policy_from_snapshot(run.org, run.policy_snapshot)


def _run(run: Dispatch, *, ranked=None) -> None:
    """Execute steps from run.step_index until one waits (an offer out, a wait timer) or the
    chain is exhausted. Caller holds the incident and dispatch locks."""
    policy = _policy(run)
    steps = policy.steps
    while run.state == Dispatch.State.ACTIVE:
        if run.step_index >= len(steps):
            run.round += 1
            run.step_index = 0
            if run.round >= policy.repeat:
                _exhaust(run)
                return
            run.save(update_fields=["round", "step_index", "updated_at"])
            _publish(run, "dispatch.escalated", step={"type": "repeat"}, reason="repeat")
            ranked = None
        step = steps[run.step_index]
        kind = step["type"]
        if kind == "offer":
            offered = _offer(run, policy, count=step.get("count", 1), ranked=ranked)
            ranked = None
            if offered:
                run.save(update_fields=["updated_at"])
                return
            _publish(run, "dispatch.escalated", step=step, reason="no_candidate")
        elif kind == "wait":
            due = clock.now() + timedelta(minutes=step["minutes"])
            _timer(run, EscalationTimer.Kind.WAIT, due)
            run.save(update_fields=["updated_at"])
            return
        elif kind == "notify_team":
            team = Team.objects.filter(org_id=run.org_id, slug=step["team"]).first()
            members = (
                list(
                    Membership.objects.filter(
                        org_id=run.org_id, active=True, team_memberships__team=team, team_memberships__active=True
                    ).values_list("id", flat=True)
                )
                if team
                else []
            )
            _publish(run, "dispatch.escalated", step=step, reason="notify_team", notify_membership_ids=members)
        elif kind == "notify_on_call":
            _publish(
                run,
                "dispatch.escalated",
                step=step,
                reason="notify_on_call",
                notify_membership_ids=_on_call_now(run, step),
            )
        run.step_index += 1
        run.save(update_fields=["step_index", "updated_at"])


def _on_call_now(run: Dispatch, step: dict) -> list:
    team = Team.objects.filter(org_id=run.org_id, slug=step["team"]).first() if step.get("team") else None
    people = list(ranking.candidates_queryset(org=run.incident.org, team=team))
    if not people:
        return []
    now = clock.now()
    window_start, window_end = ranking.busy_window(now)
    times = free_busy(org=run.incident.org, start=window_start, end=window_end, people=people)
    return [
        pt.person.membership_id
        for pt in times.values()
        if any(interval.start <= now < interval.end for interval in pt.on_call)
    ]


def _offer(run: Dispatch, policy: DispatchPolicy, *, count: int, ranked=None) -> list[Assignment]:
    now = clock.now()
    if ranked is None:
        ranked = ranking.rank(incident=run.incident, policy=policy, now=now, team=run.team)
    # Passed over: whoever declined in this run, and whoever was already offered this round.
    passed_over = set(
        Assignment.objects.filter(dispatch=run)
        .filter(Q(state=Assignment.State.DECLINED) | Q(round=run.round))
        .values_list("person_id", flat=True)
    )
    offered = []
    for candidate in ranked:
        if len(offered) >= count:
            break
        if not candidate.eligible or candidate.person.pk in passed_over:
            continue
        # The ranking's person is a light row; the one chosen is locked and loaded whole.
        locked = (
            Person.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("membership")
            .filter(pk=candidate.person.pk)
            .first()
        )
        if locked is None:
            continue  # another process is offering to them right now
        locked.org = run.incident.org
        # The project's person-time lock, then the checks again: a booking or another
        # offer may have taken the responder since the ranking was read.
        lock_person_time([locked.membership_id])
        if not _still_free(locked, policy, now):
            continue
        offered.append(_create_offer(run, policy, candidate, now, person=locked))
    return offered


def _still_free(person: Person, policy: DispatchPolicy, now) -> bool:
    active = list(
        Assignment.objects.filter(person_id=person.pk, state__in=ACTIVE_STATES).values_list(
            "schedule_entry_id", flat=True
        )
    )
    if len(active) >= policy.max_concurrent:
        return False
    own = [str(entry_id) for entry_id in active if entry_id]
    time = free_busy(
        org=person.org,
        start=now,
        end=now + ranking.BUSY_WINDOW,
        people=[person],
        exclude_refs=own,
        with_rules=False,
        fresh=True,  # under the person-time lock: never the process cache
    )[person.pk]
    return not time.is_busy(now, now + ranking.BUSY_WINDOW)


def _create_offer(run: Dispatch, policy: DispatchPolicy, candidate, now, *, person: Person) -> Assignment:
    deadline = now + timedelta(seconds=policy.ack_timeout_seconds)
    entry = schedule_entry_create(
        actor=None,
        org=run.incident.org,
        title=f"Dispatch: {run.incident.title}"[:300],
        start=now,
        end=now + timedelta(minutes=ENTRY_MINUTES),
        assignees=[person.membership],
        incident=run.incident,
        force=True,
    )
    assignment = Assignment(
        org_id=run.org_id,
        dispatch=run,
        incident=run.incident,
        person=person,
        membership=person.membership,
        step_index=run.step_index,
        round=run.round,
        offered_at=now,
        ack_deadline=deadline,
        score=candidate.score,
        score_parts=candidate.parts,
        schedule_entry=entry,
    )
    assignment.full_clean()
    assignment.save()
    _timer(run, EscalationTimer.Kind.ACK_TIMEOUT, deadline, assignment=assignment)
    _publish(run, "dispatch.offered", assignment=assignment_data(assignment))
    _activity(run.incident, f"offered to {assignment_data(assignment)['name']}", "dispatch")
    return assignment


def _timer(run: Dispatch, kind: str, due, assignment: Assignment | None = None) -> EscalationTimer:
    """A timer row (the beat sweep fires it if its task is lost) and its task, handed over by
    name through the one enqueue helper, so services never import the tasks that call them."""
    timer = EscalationTimer.objects.create(
        org_id=run.org_id, dispatch=run, assignment=assignment, kind=kind, due_at=due
    )
    countdown = max(0.0, (due - timezone.now()).total_seconds())
    enqueue_on_commit("dispatch.fire_timer", str(timer.pk), countdown=countdown or None)
    return timer


def _cancel_timers(run: Dispatch, assignment: Assignment | None = None) -> None:
    timers = EscalationTimer.objects.filter(dispatch=run, state=EscalationTimer.State.PENDING)
    if assignment is not None:
        timers = timers.filter(assignment=assignment)
    timers.update(state=EscalationTimer.State.CANCELLED, updated_at=clock.now())


def _drop_entry(assignment: Assignment, *, release: bool = False) -> None:
    """Free the responder's time: a lapsed offer's entry goes; a finished job's entry ends now."""
    entry = assignment.schedule_entry
    if entry is None:
        return
    now = clock.now()
    if release and now > entry.start + timedelta(minutes=1):
        if now < entry.end:
            schedule_entry_update(actor=None, entry=entry, changes={"end": now}, force=True)
        return
    schedule_entry_delete(actor=None, entry=entry)


def _end(assignment: Assignment, state: str, *, note: str = "") -> None:
    assignment.state = state
    assignment.finished_at = clock.now()
    if note:
        assignment.note = note[:500]
    assignment.save(update_fields=["state", "finished_at", "note", "updated_at"])
    _drop_entry(assignment, release=state == Assignment.State.RELEASED)


def _finish(run: Dispatch, state: str) -> None:
    for assignment in run.assignments.select_for_update().filter(state=Assignment.State.OFFERED):
        _end(assignment, Assignment.State.WITHDRAWN)
    _cancel_timers(run)
    run.state = state
    run.finished_at = clock.now()
    run.save(update_fields=["state", "finished_at", "updated_at"])


def _exhaust(run: Dispatch) -> None:
    _finish(run, Dispatch.State.EXHAUSTED)
    admins = list(
        Membership.objects.filter(org_id=run.org_id, active=True, role__in=(Role.OWNER, Role.ADMIN)).values_list(
            "id", flat=True
        )
    )
    _publish(run, "dispatch.exhausted", notify_membership_ids=admins)
    _activity(run.incident, "dispatch exhausted: nobody acknowledged; the org admins were told", "dispatch")


def _advance(run: Dispatch) -> None:
    """The current step is over (declined, timed out, waited): on to the next, unless an
    offer of this step is still out."""
    if run.state != Dispatch.State.ACTIVE:
        return
    if run.assignments.filter(state=Assignment.State.OFFERED).exists():
        return
    run.step_index += 1
    run.save(update_fields=["step_index", "updated_at"])
    _run(run)


# --- the responder's answers -----------------------------------------------------------------


def _lock_for(assignment: Assignment) -> tuple[Incident, Dispatch, Assignment]:
    incident = Incident.objects.select_for_update(of=("self",)).select_related("org").get(pk=assignment.incident_id)
    run = (
        Dispatch.objects.select_for_update(of=("self",))
        .select_related("incident__org", "org", "team")
        .get(pk=assignment.dispatch_id)
    )
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("membership__user", "person")
        .get(pk=assignment.pk)
    )
    return incident, run, locked


def _ensure_responder(actor, assignment: Assignment) -> None:
    if actor is None or actor.membership_id == assignment.membership_id:
        return
    if actor.role in (Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SCHEDULER):
        return  # a dispatcher answering for a responder on the phone
    raise Problem(
        403, "ASSIGNMENT_NOT_YOURS", "Not your assignment", "Only the responder (or a dispatcher) answers an offer."
    )


def _expired() -> Problem:
    return Problem(
        409, "ASSIGNMENT_EXPIRED", "Offer expired", "The acknowledgement window has passed; the incident was escalated."
    )


def _time_out(run: Dispatch, assignment: Assignment) -> None:
    _end(assignment, Assignment.State.TIMED_OUT)
    _cancel_timers(run, assignment)
    _publish(run, "dispatch.escalated", reason="ack_timeout", assignment=assignment_data(assignment))
    _activity(run.incident, f"{assignment_data(assignment)['name']} did not acknowledge in time", "dispatch")
    _advance(run)


def assignment_acknowledge(*, actor, assignment: Assignment, label: str | None = None) -> Assignment:
    expired = False
    with transaction.atomic():
        incident, run, assignment = _lock_for(assignment)
        _ensure_responder(actor, assignment)
        if assignment.state in (Assignment.State.ACKNOWLEDGED, Assignment.State.EN_ROUTE, Assignment.State.ON_SCENE):
            return assignment  # a replayed ack (link clicked twice, ws retry)
        if assignment.state == Assignment.State.OFFERED and clock.now() >= assignment.ack_deadline:
            _time_out(run, assignment)  # the timer has not fired yet; it is due all the same
            expired = True
        elif assignment.state == Assignment.State.TIMED_OUT:
            raise _expired()
        elif assignment.state != Assignment.State.OFFERED:
            raise Problem(
                409,
                "ASSIGNMENT_NOT_OFFERED",
                "Not on offer",
                f"The assignment is {assignment.state}.",
                state=assignment.state,
            )
        else:
            now = clock.now()
            assignment.state = Assignment.State.ACKNOWLEDGED
            assignment.acknowledged_at = now
            assignment.save(update_fields=["state", "acknowledged_at", "updated_at"])
            for other in (
                run.assignments.select_for_update().filter(state=Assignment.State.OFFERED).exclude(pk=assignment.pk)
            ):
                _end(other, Assignment.State.WITHDRAWN, note="another responder acknowledged")
            _cancel_timers(run)
            run.state = Dispatch.State.ACKNOWLEDGED
            run.finished_at = now
            run.save(update_fields=["state", "finished_at", "updated_at"])
            current = list(incident.assignees.all())
            if assignment.membership not in current:
                incident_services.incident_assign(
                    actor=None, incident=incident, assignees=[*current, assignment.membership]
                )
            if incident.status == Status.OPEN:
                incident_services.incident_transition(
                    actor=None, incident=incident, to=Status.IN_PROGRESS, actor_label="dispatch"
                )
            _publish(run, "dispatch.acknowledged", assignment=assignment_data(assignment))
            _activity(incident, f"{assignment_data(assignment)['name']} acknowledged", _label(actor, label))
    if expired:
        raise _expired()
    return assignment


def assignment_decline(*, actor, assignment: Assignment, reason: str = "", label: str | None = None) -> Assignment:
    expired = False
    with transaction.atomic():
        incident, run, assignment = _lock_for(assignment)
        _ensure_responder(actor, assignment)
        if assignment.state == Assignment.State.DECLINED:
            return assignment
        if assignment.state == Assignment.State.OFFERED and clock.now() >= assignment.ack_deadline:
            _time_out(run, assignment)
            expired = True
        elif assignment.state == Assignment.State.TIMED_OUT:
            raise _expired()
        elif assignment.state != Assignment.State.OFFERED:
            raise Problem(
                409,
                "ASSIGNMENT_NOT_OFFERED",
                "Not on offer",
                f"The assignment is {assignment.state}.",
                state=assignment.state,
            )
        else:
            _end(assignment, Assignment.State.DECLINED, note=reason)
            _cancel_timers(run, assignment)
            _publish(run, "dispatch.declined", assignment=assignment_data(assignment), reason=reason[:500])
            _activity(incident, f"{assignment_data(assignment)['name']} declined", _label(actor, label))
            _advance(run)
    if expired:
        raise _expired()
    return assignment


def assignment_set_status(*, actor, assignment: Assignment, status: str, label: str | None = None) -> Assignment:
    with transaction.atomic():
        incident, run, assignment = _lock_for(assignment)
        _ensure_responder(actor, assignment)
        if assignment.state == status:
            return assignment
        allowed = STATUS_MOVES.get(assignment.state, ())
        if status not in allowed:
            raise Problem(
                409,
                "ILLEGAL_TRANSITION",
                "Illegal status change",
                f"An assignment that is {assignment.state} cannot become {status}.",
                current=assignment.state,
                allowed=list(allowed),
            )
        if status == Assignment.State.RELEASED:
            _end(assignment, status)
        else:
            assignment.state = status
            assignment.save(update_fields=["state", "updated_at"])
        _publish(run, f"dispatch.{status}", assignment=assignment_data(assignment))
        _activity(incident, f"{assignment_data(assignment)['name']}: {status.replace('_', ' ')}", _label(actor, label))
    return assignment


def assignment_respond(
    *, actor, assignment: Assignment, action: str, reason: str = "", label: str | None = None
) -> Assignment:
    """One entry point for the API, signed links and websocket messages from the phone."""
    if action == "ack":
        return assignment_acknowledge(actor=actor, assignment=assignment, label=label)
    if action == "decline":
        return assignment_decline(actor=actor, assignment=assignment, reason=reason, label=label)
    return assignment_set_status(actor=actor, assignment=assignment, status=action, label=label)


# --- timers ----------------------------------------------------------------------------------


def escalation_timer_fire(*, timer_id) -> bool:
    """Fire one timer if it is due and still pending. Returns whether it fired."""
    timer = (
        EscalationTimer.objects.filter(pk=timer_id, state=EscalationTimer.State.PENDING)
        .select_related("dispatch")
        .first()
    )
    if timer is None or timer.due_at > clock.now():
        return False  # gone, moved on, or early (an eager run or a clock skew: the sweep comes back)
    with transaction.atomic():
        Incident.objects.select_for_update().filter(pk=timer.dispatch.incident_id).first()
        run = (
            Dispatch.objects.select_for_update(of=("self",))
            .select_related("incident__org", "org", "team")
            .get(pk=timer.dispatch_id)
        )
        timer = (
            EscalationTimer.objects.select_for_update().filter(pk=timer.pk, state=EscalationTimer.State.PENDING).first()
        )
        if timer is None:
            return False
        timer.state = EscalationTimer.State.FIRED
        timer.fired_at = clock.now()
        timer.save(update_fields=["state", "fired_at", "updated_at"])
        if run.state != Dispatch.State.ACTIVE:
            return True
        if timer.kind == EscalationTimer.Kind.ACK_TIMEOUT:
            assignment = (
                Assignment.objects.select_for_update(of=("self",))
                .select_related("membership__user", "person")
                .filter(pk=timer.assignment_id, state=Assignment.State.OFFERED)
                .first()
            )
            if assignment is not None:
                _time_out(run, assignment)
        else:
            _publish(run, "dispatch.escalated", reason="waited")
            _advance(run)
    return True


def escalation_sweep(*, limit: int = 200) -> int:
    """Fire every overdue pending timer (the safety net behind the ETA tasks)."""
    due = list(
        EscalationTimer.objects.filter(state=EscalationTimer.State.PENDING, due_at__lte=clock.now())
        .order_by("due_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(1 for timer_id in due if escalation_timer_fire(timer_id=timer_id))


# --- policies --------------------------------------------------------------------------------

POLICY_FIELDS = (
    "name",
    "team",
    "priority",
    "steps",
    "repeat",
    "ack_timeout_seconds",
    "max_concurrent",
    "travel_speed_kmh",
    "active",
)


def _ensure_unique_policy(policy: DispatchPolicy) -> None:
    # The partial unique constraint treats a NULL team as distinct; the org-wide slot is checked here.
    if not policy.active:
        return
    clash = DispatchPolicy.objects.filter(org_id=policy.org_id, team=policy.team, priority=policy.priority, active=True)
    if clash.exclude(pk=policy.pk).exists():
        raise Problem(
            409, "POLICY_EXISTS", "Policy exists", "An active policy for this team and priority already exists."
        )


@transaction.atomic
def dispatch_policy_create(*, actor, **fields) -> DispatchPolicy:
    policy = DispatchPolicy(org=actor.org, **{k: v for k, v in fields.items() if k in POLICY_FIELDS})
    policy.full_clean()
    _ensure_unique_policy(policy)
    policy.save()
    return policy


@transaction.atomic
def dispatch_policy_update(*, actor, policy: DispatchPolicy, **changes) -> DispatchPolicy:
    policy = DispatchPolicy.objects.select_for_update().get(pk=policy.pk)
    for name, value in changes.items():
        if name in POLICY_FIELDS:
            setattr(policy, name, value)
    policy.full_clean()
    _ensure_unique_policy(policy)
    policy.save()
    return policy


def dispatch_policy_delete(*, actor, policy: DispatchPolicy) -> None:
    policy.delete()
