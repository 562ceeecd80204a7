"""Planning reads across the tenant line: every id from outside resolves through access_*,
the same 404 whether the row is missing or another org's."""

import uuid

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from apps.planning.models import DailySchedule, OptimizationRun, ScheduleAssignment, ScheduleConflict, ScheduleRequest


def _pk(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def schedules(*, fetched_by) -> QuerySet[DailySchedule]:
    return (
        DailySchedule.objects.for_actor(fetched_by)
        .select_related("team")
        .prefetch_related(
            Prefetch("assignments", queryset=ScheduleAssignment.objects.select_related("person")),
            Prefetch("conflicts", queryset=ScheduleConflict.objects.only("id", "schedule_id", "resolved")),
        )
    )


def access_schedule(actor, schedule_id) -> DailySchedule:
    schedule = schedules(fetched_by=actor).filter(pk=_pk(schedule_id)).first()
    if schedule is None:
        raise Http404
    return schedule


def access_request(actor, request_id) -> ScheduleRequest:
    found = (
        ScheduleRequest.objects.for_actor(actor).select_related("team", "schedule").filter(pk=_pk(request_id)).first()
    )
    if found is None:
        raise Http404
    return found


def access_conflict(actor, conflict_id) -> ScheduleConflict:
    found = (
        ScheduleConflict.objects.for_actor(actor).select_related("schedule__org").filter(pk=_pk(conflict_id)).first()
    )
    if found is None:
        raise Http404
    return found


def conflict_list(*, fetched_by, filters) -> QuerySet[ScheduleConflict]:
    """Stored conflicts: ?date=, ?region=, ?type=, ?status=open|resolved|all (default open)."""
    queryset = ScheduleConflict.objects.for_actor(fetched_by).select_related("schedule")
    if filters.get("date"):
        queryset = queryset.filter(schedule__date=filters["date"])
    if filters.get("region"):
        queryset = queryset.filter(region__iexact=filters["region"])
    if filters.get("type"):
        queryset = queryset.filter(type=filters["type"])
    status = filters.get("status") or "open"
    if status != "all":
        queryset = queryset.filter(resolved=status == "resolved")
    return queryset


def run_list(*, fetched_by, filters) -> QuerySet[OptimizationRun]:
    queryset = OptimizationRun.objects.for_actor(fetched_by)
    if filters.get("date"):
        queryset = queryset.filter(date=filters["date"])
    return queryset
