"""Every planning write (see schedules.py for the lock order and the rev contract)."""

from apps.planning.services.conflicts import schedule_conflict_resolve
from apps.planning.services.requests import (
    render_solution,
    resolve_person,
    resolve_work_item,
    schedule_optimize,
    schedule_replan,
    schedule_request_apply,
    schedule_request_create,
    schedule_request_run,
    team_by_id,
)
from apps.planning.services.schedules import (
    StaleRevision,
    actor_label,
    daily_schedule_assign,
    daily_schedule_get_or_create,
    daily_schedule_publish,
    daily_schedule_set_assignments,
    daily_schedule_unassign,
    parse_if_match,
    schedule_revalidate,
    work_requirement_delete,
    work_requirement_set,
)

__all__ = [
    "StaleRevision",
    "actor_label",
    "daily_schedule_assign",
    "daily_schedule_get_or_create",
    "daily_schedule_publish",
    "daily_schedule_set_assignments",
    "daily_schedule_unassign",
    "parse_if_match",
    "render_solution",
    "resolve_person",
    "resolve_work_item",
    "schedule_conflict_resolve",
    "schedule_optimize",
    "schedule_replan",
    "schedule_request_apply",
    "schedule_request_create",
    "schedule_request_run",
    "schedule_revalidate",
    "team_by_id",
    "work_requirement_delete",
    "work_requirement_set",
]
