"""Schedule requests (async, polled), synchronous optimization, applying a proposal, and
event-driven re-planning. A proposal is never applied by itself: applying names the
schedule's rev (If-Match) and is refused when the plan changed since the proposal's base."""

import logging
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.bookings.models import Booking
from apps.events.enqueue import enqueue_on_commit
from apps.incidents.models import Incident
from apps.orgs.models import Team
from apps.planning.day import Day, build_day
from apps.planning.models import DailySchedule, OptimizationRun, ScheduleConflict, ScheduleRequest
from apps.planning.services.schedules import (
    UNASSIGNED_TYPES,
    _bump,
    _conflict_details,
    _lock,
    _make_assignment,
    actor_label,
    daily_schedule_get_or_create,
    schedule_revalidate,
)
from apps.planning.solver import Solution, Weights, solve
from apps.scheduling import recurrence
from apps.scheduling.models import Person, ScheduleEntry
from schedkit.api.problems import Problem

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_MS = 5000
#: Events within this delay of each other re-plan a day once.
REPLAN_DEBOUNCE_SECONDS = 30


def _pins(constraints: dict) -> list[dict]:
    return [
        {
            "ref": f"{p['work_item']['type']}:{p['work_item']['id']}",
            "person_id": str(p["person_id"]),
            "start": parse_datetime(p["start"]) if isinstance(p["start"], str) else p["start"],
            "end": parse_datetime(p["end"]) if isinstance(p["end"], str) else p["end"],
        }
        for p in constraints.get("pinned") or []
    ]


def _weights(constraints: dict) -> Weights:
    w = constraints.get("weights") or {}
    return Weights(travel=w.get("travel", 1.0), balance=w.get("balance", 1.0), priority=w.get("priority", 1.0))


def render_solution(day: Day, solution: Solution) -> dict:
    pinned = {p.demand_id for p in day.instance.pinned}

    def item(ref):
        info = day.demands.get(ref)
        kind, _, ident = ref.partition(":")
        return {"type": kind, "id": ident}, (info.title if info else ref), (info.region if info else "")

    assignments = []
    for placement in sorted(solution.placements, key=lambda p: (p.worker_id, p.start)):
        work_item, title, region = item(placement.demand_id)
        person = day.people.get(placement.worker_id)
        assignments.append(
            {
                "person_id": placement.worker_id,
                "person_name": str(person) if person else "",
                "work_item": work_item,
                "title": title,
                "region": region,
                "start": day.moment(placement.start).isoformat(),
                "end": day.moment(placement.end).isoformat(),
                "pinned": placement.demand_id in pinned,
            }
        )
    unassigned = []
    for miss in solution.unassigned:
        work_item, title, region = item(miss.demand_id)
        unassigned.append(
            {"work_item": work_item, "title": title, "region": region, "reason": miss.reason, "detail": miss.detail}
        )
    return {
        "algorithm": solution.algorithm,
        "status": solution.status,
        "score": solution.score,
        "duration_ms": solution.duration_ms,
        "first_solution_ms": solution.first_solution_ms,
        "travel_minutes": solution.travel_minutes,
        "travel_km": solution.travel_km,
        "balance_minutes": solution.balance,
        "people": len(day.instance.workers),
        "demands": len(day.instance.demands) + len(day.instance.pinned),
        "assignments": assignments,
        "unassigned": unassigned,
        "notes": solution.notes,
    }


def _optimize(
    *, org, day: date, team, constraints: dict, schedule, request=None
) -> tuple[Day, Solution, OptimizationRun]:
    started_at = timezone.now()
    plan = build_day(
        org=org,
        day=day,
        schedule=schedule,
        team=team,
        people=constraints.get("people") or None,
        pinned=_pins(constraints),
        weights=_weights(constraints),
    )
    algorithm = constraints.get("algorithm") or "routing"
    solution = solve(
        plan.instance, algorithm=algorithm, time_limit_ms=constraints.get("time_limit_ms") or DEFAULT_TIME_LIMIT_MS
    )
    run = OptimizationRun.objects.create(
        org=org,
        request=request,
        date=day,
        algorithm=solution.algorithm,
        duration_ms=solution.duration_ms,
        score=solution.score,
        status=OptimizationRun.Status.FAILED if solution.status == "failed" else OptimizationRun.Status.SUCCEEDED,
        started_at=started_at,
        completed_at=timezone.now(),
        stats={
            "requested_algorithm": algorithm,
            "people": len(plan.instance.workers),
            "demands": len(plan.instance.demands) + len(plan.instance.pinned),
            "assigned": len(solution.placements),
            "unassigned": len(solution.unassigned),
            "travel_minutes": solution.travel_minutes,
            "travel_km": solution.travel_km,
            "balance_minutes": solution.balance,
            "first_solution_ms": solution.first_solution_ms,
            "notes": solution.notes,
        },
    )
    return plan, solution, run


def schedule_optimize(*, actor, org, day: date, team=None, constraints: dict) -> tuple[dict, OptimizationRun]:
    """Synchronous: the proposal for the day's schedule (if any), recorded as a run; nothing
    else is written."""
    schedule = DailySchedule.objects.filter(org=org, team=team, date=day).first()
    plan, solution, run = _optimize(org=org, day=day, team=team, constraints=constraints, schedule=schedule)
    body = render_solution(plan, solution)
    body.update(
        run_id=str(run.pk),
        schedule_id=str(schedule.pk) if schedule else None,
        base_rev=schedule.rev if schedule else None,
    )
    return body, run


def schedule_request_create(
    *, actor, org, day: date, team=None, constraints: dict, source: str = "api", trigger: str = ""
) -> ScheduleRequest:
    request = ScheduleRequest(
        org=org,
        date=day,
        team=team,
        requested_by=actor.user if actor is not None else None,
        requested_by_label=actor_label(actor),
        source=source,
        trigger=trigger,
        constraints=constraints,
    )
    request.full_clean()
    request.save()
    countdown = REPLAN_DEBOUNCE_SECONDS if source == ScheduleRequest.Source.EVENT else 0
    pk = str(request.pk)
    enqueue_on_commit("planning.run_schedule_request", pk, countdown=countdown)
    return request


def _progress(request: ScheduleRequest, value: int, **fields) -> None:
    ScheduleRequest.objects.filter(pk=request.pk).update(progress=value, updated_at=timezone.now(), **fields)


def schedule_request_run(*, request_id) -> ScheduleRequest | None:
    """The Celery job: queued → running → succeeded | failed. A request already past queued
    (a duplicate delivery) is left alone."""
    with transaction.atomic():
        request = (
            ScheduleRequest.objects.select_for_update(of=("self",))
            .select_related("org", "team")
            .filter(pk=request_id)
            .first()
        )
        if request is None or request.status != ScheduleRequest.Status.QUEUED:
            return request
        request.status, request.started_at, request.progress = ScheduleRequest.Status.RUNNING, timezone.now(), 5
        request.save(update_fields=["status", "started_at", "progress", "updated_at"])
    run = None
    try:
        schedule, _ = daily_schedule_get_or_create(actor=None, org=request.org, date=request.date, team=request.team)
        request.schedule, request.base_rev = schedule, schedule.rev
        _progress(request, 20, schedule=schedule, base_rev=schedule.rev)
        plan, solution, run = _optimize(
            org=request.org,
            day=request.date,
            team=request.team,
            constraints=request.constraints,
            schedule=schedule,
            request=request,
        )
        _progress(request, 90)
        result = render_solution(plan, solution)
        result.update(run_id=str(run.pk), schedule_id=str(schedule.pk), base_rev=request.base_rev)
        with transaction.atomic():
            _store_unassigned(schedule=schedule, plan=plan, solution=solution, run=run)
            request.result = result
            request.status = (
                ScheduleRequest.Status.FAILED if solution.status == "failed" else ScheduleRequest.Status.SUCCEEDED
            )
            request.error = "; ".join(solution.notes) if solution.status == "failed" else ""
            request.progress, request.completed_at = 100, timezone.now()
            request.save()
    except Exception as exc:  # noqa: BLE001 - any failure is the request's answer, never a lost job
        logger.exception("schedule request %s failed", request_id)
        if run is not None:
            OptimizationRun.objects.filter(pk=run.pk).update(status=OptimizationRun.Status.FAILED)
        ScheduleRequest.objects.filter(pk=request.pk).update(
            status=ScheduleRequest.Status.FAILED,
            error=str(exc)[:2000] or type(exc).__name__,
            completed_at=timezone.now(),
        )
        request.refresh_from_db()
    return request


def _store_unassigned(*, schedule: DailySchedule, plan: Day, solution: Solution, run: OptimizationRun) -> None:
    """The run's view of what it could not place replaces the previous runs' open ones."""
    schedule.conflicts.filter(resolved=False, run__isnull=False).delete()
    ScheduleConflict.objects.bulk_create(
        ScheduleConflict(
            org=schedule.org,
            schedule=schedule,
            run=run,
            type=UNASSIGNED_TYPES.get(miss.reason, "unassigned_demand"),
            work_ref=miss.demand_id,
            region=plan.demands[miss.demand_id].region if miss.demand_id in plan.demands else "",
            details=_conflict_details(plan, miss.demand_id, reason=miss.reason, detail=miss.detail),
        )
        for miss in solution.unassigned
    )


def resolve_work_item(org, work_item: dict) -> dict:
    """{type, id} → the model fields of an assignment (404 for another org's item)."""
    kind, ident = work_item["type"], str(work_item["id"])
    try:
        if kind == "entry":
            master_id, original = recurrence.parse_instance_id(ident)
            entry = ScheduleEntry.objects.filter(org=org, pk=master_id).first()
            if entry is not None:
                return {"entry": entry, "entry_instance": ident if original else "", "ref": f"entry:{ident}"}
        elif kind == "booking":
            booking = Booking.objects.filter(org=org, pk=ident).first()
            if booking is not None:
                return {"booking": booking, "ref": f"booking:{booking.pk}"}
        elif kind == "incident":
            incident = Incident.objects.filter(org=org, pk=ident).first()
            if incident is not None:
                return {"incident": incident, "ref": f"incident:{incident.pk}"}
    except (ValueError, TypeError):
        pass
    raise Problem(400, "VALIDATION_ERROR", "Invalid input", f"Unknown work item {kind}:{ident}.")


def resolve_person(org, person_id) -> Person:
    person = Person.objects.filter(org=org, pk=person_id).select_related("membership").first() if person_id else None
    if person is None:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", f"Unknown person {person_id}.")
    return person


@transaction.atomic
def schedule_request_apply(*, actor, request: ScheduleRequest, if_match) -> DailySchedule:
    if request.schedule_id is None or request.status != ScheduleRequest.Status.SUCCEEDED:
        raise Problem(409, "REQUEST_NOT_READY", "No proposal yet", f"The request is {request.status}.")
    schedule = _lock(request.schedule, if_match)
    if request.base_rev != schedule.rev:
        raise Problem(
            409,
            "PROPOSAL_STALE",
            "The schedule changed since the proposal",
            f"The proposal is for rev {request.base_rev}; the schedule is at rev {schedule.rev}. Request a new one.",
        )
    pinned = {a.work_ref: a for a in schedule.assignments.filter(pinned=True)}
    rows = []
    for item in request.result["assignments"]:
        fields = resolve_work_item(schedule.org, item["work_item"])
        fields.update(
            person=resolve_person(schedule.org, item["person_id"]),
            start=parse_datetime(item["start"]),
            end=parse_datetime(item["end"]),
            pinned=item.get("pinned", False),
        )
        kept = pinned.get(fields["ref"])
        if kept is not None:
            fields.update(location=kept.location, lat=kept.lat, lng=kept.lng)
        rows.append(_make_assignment(schedule, fields))
    schedule.assignments.all().delete()
    schedule.assignments.bulk_create(rows)
    _bump(schedule, actor)
    request.applied_at = timezone.now()
    request.save(update_fields=["applied_at", "updated_at"])
    schedule_revalidate(schedule=schedule)
    return schedule


def schedule_replan(*, org, day: date, trigger: str) -> ScheduleRequest | None:
    """A consumed event touched a planned day: queue one proposal for each of the day's
    schedules, unless one is already waiting (debounce). Nothing is applied."""
    created = None
    for schedule in DailySchedule.objects.filter(org=org, date=day).select_related("team"):
        waiting = ScheduleRequest.objects.filter(
            org=org,
            date=day,
            team=schedule.team,
            source=ScheduleRequest.Source.EVENT,
            status=ScheduleRequest.Status.QUEUED,
            created_at__gte=timezone.now() - timedelta(seconds=REPLAN_DEBOUNCE_SECONDS * 10),
        ).exists()
        if waiting:
            continue
        created = schedule_request_create(
            actor=None,
            org=org,
            day=day,
            team=schedule.team,
            constraints={},
            source=ScheduleRequest.Source.EVENT,
            trigger=trigger,
        )
    return created


def team_by_id(org, team_id) -> Team | None:
    return Team.objects.filter(org=org, pk=team_id).first() if team_id else None
