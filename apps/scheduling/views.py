"""The calendar page (day/week/month + people view, FullCalendar vendored). The page reads and
writes through the JSON API (/v1/schedule-entries) with the session, so the same services,
scopes and conflict checks apply; it refreshes live on schedule.* events over the org websocket."""

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.bookings import selectors as booking_selectors
from apps.orgs.models import Membership, Team
from apps.orgs.roles import SCHEDULERS
from apps.orgs.tenancy import resolve_actor
from schedkit.api.problems import Problem


@require_GET
@login_required
def calendar(request):
    try:
        actor = resolve_actor(request, require_org=True)
    except Problem as problem:
        return render(request, "schedule/problem.html", {"problem": problem}, status=problem.status_code)
    members = list(
        Membership.objects.for_actor(actor).filter(active=True).select_related("user").order_by("user__email")
    )
    context = {
        "org": actor.org,
        "can_manage": actor.role in SCHEDULERS,
        "members": members,
        "teams": list(Team.objects.for_actor(actor).order_by("name")),
        "initial_date": request.GET.get("date", "")[:10],
        "initial_view": request.GET.get("view", "timeGridWeek")[:30],
        "org_timezone": actor.org.timezone,
        "hours": request.GET.get("hours", "")[:11],
        "weekdays": [
            ("MO", "Mon"),
            ("TU", "Tue"),
            ("WE", "Wed"),
            ("TH", "Thu"),
            ("FR", "Fri"),
            ("SA", "Sat"),
            ("SU", "Sun"),
        ],
    }
    if request.htmx and request.htmx.target == "schedule-filters":
        return render(request, "schedule/partials/filters.html", context)
    return render(request, "schedule/calendar.html", context)


@require_GET
@login_required
def bookings_feed(request):
    """The calendar's read-only booking layer: the org's live bookings in [start, end)."""
    try:
        actor = resolve_actor(request, require_org=True)
        start = datetime.fromisoformat(request.GET.get("start", "").replace("Z", "+00:00"))
        end = datetime.fromisoformat(request.GET.get("end", "").replace("Z", "+00:00"))
    except Problem as problem:
        return JsonResponse({"code": problem.code, "detail": str(problem.detail)}, status=problem.status_code)
    except ValueError:
        return JsonResponse({"code": "VALIDATION_ERROR", "detail": "start and end must be ISO 8601."}, status=400)
    if actor.role not in SCHEDULERS:
        return JsonResponse({"results": []})
    rows = booking_selectors.booking_list(actor=actor, filters={"start_after": start, "start_before": end})
    results = [
        {
            "id": str(b.pk),
            "title": f"{b.event_type.title if b.event_type_id else 'Booking'} · {b.attendee_name}",
            "start": b.start_at.isoformat(),
            "end": b.end_at.isoformat(),
            "status": b.status,
        }
        for b in rows.filter(status__in=("pending", "confirmed"))[:500]
    ]
    return JsonResponse({"results": results})
