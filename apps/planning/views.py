"""The daily schedule board (SPEC §9): people as rows, the day's hours as columns, the
unassigned demand beside it, stored conflicts highlighted by type. The page writes through
the JSON API with the session (If-Match on every change), so the same services, rev checks
and validation apply; one view serves the page and its htmx partial."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from apps.orgs.roles import FRONTDESK, SCHEDULERS
from apps.orgs.tenancy import resolve_actor
from apps.planning.day import build_day
from apps.planning.models import DailySchedule
from schedkit.api.problems import Problem

FIRST_HOUR, LAST_HOUR = 6, 21


def _percent(minute: int) -> float:
    span = (LAST_HOUR - FIRST_HOUR) * 60
    return round(max(0.0, min(100.0, 100.0 * (minute - FIRST_HOUR * 60) / span)), 3)


def board_context(actor, day: date) -> dict:
    org = actor.org
    schedule = DailySchedule.objects.for_actor(actor).filter(team__isnull=True, date=day).select_related("team").first()
    plan = build_day(org=org, day=day, schedule=schedule)
    conflicts = list(schedule.conflicts.filter(resolved=False)) if schedule else []
    conflict_types: dict[str, list[str]] = {}
    for conflict in conflicts:
        conflict_types.setdefault(conflict.work_ref, []).append(conflict.type)
    assignments = list(schedule.assignments.select_related("person")) if schedule else []
    assigned = {a.work_ref for a in assignments}
    rows = []
    for worker in plan.instance.workers:
        mine = []
        for a in assignments:
            if str(a.person_id) != worker.id:
                continue
            start, end = plan.minute(a.start), plan.minute(a.end)
            info = plan.demands.get(a.work_ref)
            mine.append(
                {
                    "id": a.pk,
                    "ref": a.work_ref,
                    "title": info.title if info else a.work_ref,
                    "start": timezone.localtime(a.start, ZoneInfo(org.timezone)),
                    "end": timezone.localtime(a.end, ZoneInfo(org.timezone)),
                    "left": _percent(start),
                    "width": max(0.5, _percent(end) - _percent(start)),
                    "minutes": end - start,
                    "pinned": a.pinned,
                    "conflicts": conflict_types.get(a.work_ref, []),
                }
            )
        rows.append(
            {
                "id": worker.id,
                "name": worker.label,
                "skills": sorted(worker.skills),
                "free": [{"left": _percent(a), "width": _percent(b) - _percent(a)} for a, b in worker.free],
                "assignments": mine,
            }
        )
    demand = [
        {
            "ref": d.id,
            "title": plan.demands[d.id].title if d.id in plan.demands else d.id,
            "minutes": d.duration,
            "skills": sorted(d.skills),
            "priority": d.priority,
            "earliest": timezone.localtime(plan.moment(d.earliest), ZoneInfo(org.timezone)),
            "latest": timezone.localtime(plan.moment(d.latest), ZoneInfo(org.timezone)),
            "conflicts": conflict_types.get(d.id, []),
        }
        for d in sorted(plan.instance.demands, key=lambda d: (-d.priority, d.earliest))
        if d.id not in assigned
    ]
    return {
        "org": org,
        "day": day,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "schedule": schedule,
        "rows": rows,
        "demand": demand,
        "conflicts": conflicts,
        "hours": [{"label": f"{h:02d}", "left": _percent(h * 60)} for h in range(FIRST_HOUR, LAST_HOUR)],
        "day_start": plan.start.isoformat(),
        "first_minute": FIRST_HOUR * 60,
        "span_minutes": (LAST_HOUR - FIRST_HOUR) * 60,
        "can_edit": actor.role in SCHEDULERS,
    }


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Problem(404, "NOT_FOUND", "Not found", f"{value} is not a date.")
    return parsed


@require_GET
@login_required
def board(request, day: str | None = None):
    try:
        actor = resolve_actor(request, require_org=True)
        if actor.role not in FRONTDESK:
            raise Problem(403, "PERMISSION_DENIED", "Permission denied", "The board is for schedulers and frontdesk.")
        when = _day(day)
    except Problem as problem:
        return render(request, "planning/problem.html", {"problem": problem}, status=problem.status_code)
    when = when or timezone.localtime(timezone.now(), ZoneInfo(actor.org.timezone)).date()
    context = board_context(actor, when)
    if request.htmx:
        return render(request, "planning/partials/board.html", context)
    return render(request, "planning/board.html", context)
