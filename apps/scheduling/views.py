"""The calendar page (day/week/month + people view, FullCalendar vendored). The page reads and
writes through the JSON API (/v1/schedule-entries) with the session, so the same services,
scopes and conflict checks apply; it refreshes live on schedule.* events over the org websocket."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

import schedkit.display as display
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
        # The grid shows and creates times in this zone (the org's, or the user's if set),
        # whatever the browser's zone: static/schedule/calendar.js converts.
        "org_timezone": display.staff_zone(user=request.user, org=actor.org).key,
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
