"""Every planning write. Lock order: the DailySchedule row (select_for_update) first, then
its assignments and conflicts, then schedule entries (through the scheduling services).
Every schedule write names the rev it was made against (`if_match`): a stale one is a 412
carrying the current version, a missing one a 428 — two editors never overwrite each other,
and neither does the optimizer (a proposal applies only to the rev it was computed for)."""

import logging
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.events.publish import publish_on_commit
from apps.planning.day import Day, build_day, day_window
from apps.planning.models import (
    ConflictType,
    DailySchedule,
    ScheduleAssignment,
    ScheduleConflict,
    WorkRequirement,
)
from apps.planning.solver import Placement, validate
from apps.scheduling import recurrence
from apps.scheduling.models import ScheduleEntry
from apps.scheduling.services import schedule_entry_create, schedule_entry_delete, schedule_entry_update
from schedkit.api.problems import Problem

logger = logging.getLogger(__name__)

VALIDATION_TYPES = (
    ConflictType.DOUBLE_BOOKED,
    ConflictType.SKILL_MISSING,
    ConflictType.OUTSIDE_AVAILABILITY,
    ConflictType.TRAVEL_INFEASIBLE,
)
#: An unassigned demand's reason → the conflict type it is stored as.
UNASSIGNED_TYPES = {
    "skill_missing": ConflictType.SKILL_MISSING,
    "over_capacity": ConflictType.OVER_CAPACITY,
    "travel_infeasible": ConflictType.TRAVEL_INFEASIBLE,
    "outside_availability": ConflictType.UNASSIGNED_DEMAND,
}


class StaleRevision(Problem):
    """412: the caller edited an old rev. `schedule` is the current version, for the body."""

    def __init__(self, schedule: DailySchedule, given):
        super().__init__(
            412,
            "PRECONDITION_FAILED",
            "Stale revision",
            f"The schedule is at rev {schedule.rev}, not {given}; reload it and apply your change again.",
        )
        self.schedule = schedule


def actor_label(actor) -> str:
    return actor.ref if actor is not None else "system"


def parse_if_match(value: str | None) -> int | str | None:
    """`If-Match: "3"`, `3` or `W/"3"` → 3; `*` → "*" (any current rev); absent → None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value == "*":
        return "*"
    tag = value.split(",")[0].strip().removeprefix("W/").strip('"')
    try:
        return int(tag)
    except ValueError:
        raise Problem(
            400, "VALIDATION_ERROR", "Invalid input", "If-Match must be the schedule's ETag (its rev)."
        ) from None


def _lock(schedule: DailySchedule, if_match) -> DailySchedule:
    if if_match is None:
        raise Problem(
            428, "PRECONDITION_REQUIRED", "If-Match required", "Send If-Match with the schedule's ETag (its rev)."
        )
    locked = DailySchedule.objects.select_for_update(of=("self",)).select_related("org", "team").get(pk=schedule.pk)
    if if_match != "*" and if_match != locked.rev:
        raise StaleRevision(locked, if_match)
    return locked


def _bump(schedule: DailySchedule, actor) -> None:
    schedule.rev += 1
    schedule.updated_by = actor_label(actor)
    if schedule.status == DailySchedule.Status.PUBLISHED:
        schedule.status = DailySchedule.Status.DRAFT  # edited after publishing: publish again
    schedule.save()


# --- daily schedules -----------------------------------------------------------------------


def daily_schedule_get_or_create(*, actor, org, date: date, team=None) -> tuple[DailySchedule, bool]:
    existing = DailySchedule.objects.filter(org=org, team=team, date=date).first()
    if existing is not None:
        return existing, False
    schedule = DailySchedule(org=org, team=team, date=date, updated_by=actor_label(actor))
    schedule.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            schedule.save()
    except IntegrityError:  # a concurrent create won: the day has one schedule
        return DailySchedule.objects.get(org=org, team=team, date=date), False
    return schedule, True


def _make_assignment(schedule: DailySchedule, item: dict) -> ScheduleAssignment:
    assignment = ScheduleAssignment(
        org=schedule.org,
        schedule=schedule,
        person=item["person"],
        entry=item.get("entry"),
        entry_instance=item.get("entry_instance", ""),
        booking=item.get("booking"),
        incident=item.get("incident"),
        start=item["start"],
        end=item["end"],
        location=item.get("location"),
        lat=item.get("lat"),
        lng=item.get("lng"),
        pinned=item.get("pinned", False),
    )
    assignment.full_clean(exclude=["schedule"], validate_constraints=False)
    return assignment


def _check_day(schedule: DailySchedule, items: list[dict]) -> None:
    start, end = day_window(schedule.org, schedule.date)
    refs = set()
    for index, item in enumerate(items):
        if item["end"] <= item["start"]:
            raise Problem(400, "VALIDATION_ERROR", "Invalid input", f"assignments.{index}: end must be after start.")
        if item["start"] >= end or item["end"] <= start:
            raise Problem(400, "VALIDATION_ERROR", "Invalid input", f"assignments.{index}: not on {schedule.date}.")
        if item["ref"] in refs:
            raise Problem(
                400, "VALIDATION_ERROR", "Invalid input", f"assignments.{index}: {item['ref']} is assigned twice."
            )
        refs.add(item["ref"])


@transaction.atomic
def daily_schedule_set_assignments(*, actor, schedule: DailySchedule, if_match, assignments: list[dict]):
    """Replace the whole plan (the board's save, or a client's PUT)."""
    schedule = _lock(schedule, if_match)
    _check_day(schedule, assignments)
    rows = [_make_assignment(schedule, item) for item in assignments]
    schedule.assignments.all().delete()
    ScheduleAssignment.objects.bulk_create(rows)
    _bump(schedule, actor)
    schedule_revalidate(schedule=schedule)
    return schedule


@transaction.atomic
def daily_schedule_assign(*, actor, schedule: DailySchedule, if_match, item: dict) -> DailySchedule:
    """Put one work item on a person (the board's drag): moves it if it was elsewhere."""
    schedule = _lock(schedule, if_match)
    _check_day(schedule, [item])
    row = _make_assignment(schedule, item)
    _assignment_of(schedule, item["ref"], delete=True)
    row.save()
    _bump(schedule, actor)
    schedule_revalidate(schedule=schedule)
    return schedule


@transaction.atomic
def daily_schedule_unassign(*, actor, schedule: DailySchedule, if_match, assignment_id) -> DailySchedule:
    schedule = _lock(schedule, if_match)
    deleted, _ = schedule.assignments.filter(pk=assignment_id).delete()
    if not deleted:
        raise Problem(404, "NOT_FOUND", "Not found", "No such assignment on this schedule.")
    _bump(schedule, actor)
    schedule_revalidate(schedule=schedule)
    return schedule


def _assignment_of(schedule: DailySchedule, ref: str, delete: bool = False):
    kind, _, ident = ref.partition(":")
    rows = schedule.assignments.all()
    if kind == "entry":
        master, _, stamp = ident.partition("_")
        rows = rows.filter(entry_id=master, entry_instance=ident if stamp else "")
    else:
        rows = rows.filter(**{f"{kind}_id": ident})
    if delete:
        rows.delete()
        return None
    return rows.select_related("person").first()


def _entry_title(assignment: ScheduleAssignment) -> tuple[str, dict]:
    if assignment.incident_id:
        return assignment.incident.title, {"incident": assignment.incident}
    if assignment.booking_id:
        return f"Booking: {assignment.booking.attendee_name}", {"work_item_ref": f"booking:{assignment.booking_id}"}
    return "Planned work", {}


@transaction.atomic
def daily_schedule_publish(*, actor, schedule: DailySchedule, if_match) -> DailySchedule:
    """Write the assignees' schedule entries, then emit schedule.published (outbox → streams,
    webhooks, and the email/push to each affected person, see handlers.py)."""
    schedule = _lock(schedule, if_match)
    for entry in ScheduleEntry.objects.filter(org=schedule.org, pk__in=schedule.written_entry_ids):
        schedule_entry_delete(actor=actor, entry=entry)
    written = []
    assignments = list(schedule.assignments.select_related("person__membership__user", "entry", "booking", "incident"))
    for assignment in assignments:
        membership = assignment.person.membership
        if assignment.entry_id:
            entry = assignment.entry
            instance_start = None
            if assignment.entry_instance:
                _, instance_start = recurrence.parse_instance_id(assignment.entry_instance)
            current = list(entry.assignees.all())
            if membership not in current:
                schedule_entry_update(
                    actor=actor,
                    entry=entry,
                    changes={"assignees": [*current, membership]},
                    instance_start=instance_start,
                    scope="single" if instance_start else "all",
                    force=True,  # the plan was validated; the board shows what remains
                )
            continue
        title, link = _entry_title(assignment)
        entry = schedule_entry_create(
            actor=actor,
            org=schedule.org,
            title=title,
            start=assignment.start,
            end=assignment.end,
            assignees=[membership],
            force=True,
            **link,
        )
        written.append(str(entry.pk))
    schedule.written_entry_ids = written
    schedule.rev += 1
    schedule.status = DailySchedule.Status.PUBLISHED
    schedule.published_at = timezone.now()
    schedule.published_rev = schedule.rev
    schedule.updated_by = actor_label(actor)
    schedule.save()
    publish_on_commit(
        org=schedule.org,
        type="schedule.published",
        data={
            "id": schedule.pk,
            "date": schedule.date.isoformat(),
            "team_id": schedule.team_id,
            "rev": schedule.rev,
            "published_at": schedule.published_at,
            "assignments": [
                {
                    "id": a.pk,
                    "person_id": a.person_id,
                    "membership_id": a.person.membership_id,
                    "work_item": {"type": a.work_kind, "id": a.work_id},
                    "start": a.start,
                    "end": a.end,
                }
                for a in assignments
            ],
        },
    )
    return schedule


# --- validation and stored conflicts -------------------------------------------------------


def _conflict_details(day: Day, ref: str, **extra) -> dict:
    info = day.demands.get(ref)
    demand = next((x for x in day.instance.demands if x.id == ref), None)
    details = {"work_item": {"type": ref.split(":", 1)[0], "id": ref.split(":", 1)[1]}, **extra}
    if info is not None:
        details["title"] = info.title
    if demand is not None:
        details.update(
            duration_minutes=demand.duration,
            earliest=day.moment(demand.earliest).isoformat(),
            latest=day.moment(demand.latest).isoformat(),
            skills=sorted(demand.skills),
            priority=demand.priority,
        )
    return details


def schedule_revalidate(*, schedule: DailySchedule, day: Day | None = None) -> list[ScheduleConflict]:
    """Check the plan as it stands with the independent validator and store what is wrong:
    open validation conflicts are replaced; unassigned-demand ones whose work is now
    assigned are resolved."""
    day = day or build_day(org=schedule.org, day=schedule.date, schedule=schedule, team=schedule.team, as_placed=True)
    assignments = list(schedule.assignments.all())
    placements = [_placement(day, a) for a in assignments if str(a.person_id) in {w.id for w in day.instance.workers}]
    violations = validate(day.instance, placements)
    schedule.conflicts.filter(resolved=False, type__in=VALIDATION_TYPES, run__isnull=True).delete()
    assigned = {a.work_ref for a in assignments}
    schedule.conflicts.filter(resolved=False, run__isnull=False, work_ref__in=assigned).update(
        resolved=True, resolution=ScheduleConflict.Resolution.REASSIGN, resolved_at=timezone.now(), resolved_by="system"
    )
    rows = []
    for violation in violations:
        info = day.demands.get(violation.demand_id)
        rows.append(
            ScheduleConflict(
                org=schedule.org,
                schedule=schedule,
                type=violation.type if violation.type in VALIDATION_TYPES else ConflictType.DOUBLE_BOOKED,
                work_ref=violation.demand_id,
                region=info.region if info else "",
                details=_conflict_details(
                    day, violation.demand_id, person_id=violation.worker_id, detail=violation.detail
                ),
            )
        )
    return ScheduleConflict.objects.bulk_create(rows)


def _placement(day: Day, assignment: ScheduleAssignment) -> Placement:
    return Placement(
        assignment.work_ref, str(assignment.person_id), day.minute(assignment.start), day.minute(assignment.end)
    )


# --- work requirements ---------------------------------------------------------------------

REQUIREMENT_FIELDS = ("skills", "priority", "duration_minutes", "window_start", "window_end", "location")


@transaction.atomic
def work_requirement_set(*, actor, org, item: dict, values: dict) -> tuple[WorkRequirement, bool]:
    """Create or update what planning needs to know about one work item (`item` as resolved
    by resolve_work_item)."""
    lookup = {k: item[k] for k in ("entry", "entry_instance", "booking", "incident") if k in item}
    requirement = WorkRequirement.objects.select_for_update().filter(org=org, **lookup).first()
    created = requirement is None
    if created:
        requirement = WorkRequirement(org=org, **lookup)
    for name in REQUIREMENT_FIELDS:
        if name in values:
            setattr(requirement, name, values[name])
    if requirement.window_start and requirement.window_end and requirement.window_end <= requirement.window_start:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "window_end must be after window_start.")
    requirement.full_clean(validate_constraints=False)
    requirement.save()
    return requirement, created


@transaction.atomic
def work_requirement_delete(*, actor, requirement: WorkRequirement) -> None:
    requirement.delete()
