"""Resolving a stored conflict: reassign, reschedule, drop or accept, under the schedule's
rev, then the plan is validated again (what the change did not fix shows up again)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.planning.models import ScheduleConflict
from apps.planning.services.requests import resolve_person, resolve_work_item
from apps.planning.services.schedules import (
    _assignment_of,
    _bump,
    _check_day,
    _lock,
    _make_assignment,
    actor_label,
    schedule_revalidate,
)
from schedkit.api.problems import Problem

Resolution = ScheduleConflict.Resolution


def _bad(detail: str) -> Problem:
    return Problem(400, "VALIDATION_ERROR", "Invalid input", detail)


@transaction.atomic
def schedule_conflict_resolve(
    *,
    actor,
    conflict: ScheduleConflict,
    if_match,
    resolution: str,
    person_id=None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[ScheduleConflict, list[ScheduleConflict]]:
    """Returns the resolved conflict and the schedule's open conflicts after re-validation."""
    named = (
        resolve_person(conflict.org, person_id) if person_id else None
    )  # a foreign id is 400 whatever the resolution
    schedule = _lock(conflict.schedule, if_match)
    conflict = ScheduleConflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.resolved:
        raise Problem(409, "CONFLICT_RESOLVED", "Already resolved", f"Resolved by {conflict.resolution}.")
    if not conflict.work_ref and resolution != Resolution.ACCEPT:
        raise _bad("This conflict names no work item; only accept applies.")
    current = _assignment_of(schedule, conflict.work_ref) if conflict.work_ref else None

    if resolution in (Resolution.REASSIGN, Resolution.RESCHEDULE):
        details = conflict.details or {}
        if resolution == Resolution.REASSIGN and not person_id:
            raise _bad("reassign needs person_id.")
        if resolution == Resolution.RESCHEDULE and start is None:
            raise _bad("reschedule needs start.")
        person = named or (current.person if current else None)
        if person is None:
            raise _bad("The work is not assigned yet: give person_id.")
        if start is None:
            start = current.start if current else datetime.fromisoformat(details["earliest"])
        if end is None:
            length = (current.end - current.start) if current else None
            if length is None and details.get("duration_minutes"):
                length = timedelta(minutes=details["duration_minutes"])
            if length is None:
                raise _bad("Give end.")
            end = start + length
        kind, _, ident = conflict.work_ref.partition(":")
        fields = resolve_work_item(schedule.org, {"type": kind, "id": ident})
        fields.update(person=person, start=start, end=end, pinned=current.pinned if current else False)
        if current is not None:
            fields.update(location=current.location, lat=current.lat, lng=current.lng)
        _check_day(schedule, [fields])
        row = _make_assignment(schedule, fields)
        _assignment_of(schedule, conflict.work_ref, delete=True)
        row.save()
    elif resolution == Resolution.DROP:
        _assignment_of(schedule, conflict.work_ref, delete=True)
    elif resolution != Resolution.ACCEPT:
        raise _bad("resolution must be reassign, reschedule, drop or accept.")

    conflict.resolved, conflict.resolution = True, resolution
    conflict.resolved_at, conflict.resolved_by = timezone.now(), actor_label(actor)
    conflict.save()
    _bump(schedule, actor)
    if resolution != Resolution.ACCEPT:
        schedule_revalidate(schedule=schedule)
    open_now = list(schedule.conflicts.filter(resolved=False).order_by("created_at", "id"))
    return conflict, open_now
