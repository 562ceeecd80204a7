"""The connection page: connect (Google consent), the consent callback, calendar choices,
last sync and errors, disconnect. Writes go through the same services as the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.calendars import selectors, services
from apps.calendars.models import CalendarConnection
from apps.orgs.tenancy import resolve_actor
from schedkit.api.problems import Problem


def _problem(request, problem: Problem):
    return render(request, "schedule/problem.html", {"problem": problem}, status=problem.status_code)


@require_http_methods(["GET", "POST"])
@login_required
def connection_page(request):
    try:
        actor = resolve_actor(request, require_org=True)
        connection = selectors.connection_for(actor=actor)
        if request.method == "POST" and connection is not None:
            write_target = request.POST.get("write_target", "")
            checked = set(request.POST.getlist("check_conflicts"))
            choices = [
                {
                    "calendar_id": c.calendar_id,
                    "check_conflicts": c.calendar_id in checked,
                    "write_target": c.calendar_id == write_target,
                }
                for c in connection.calendars.all()
            ]
            services.connection_update(
                actor=actor, connection=connection, calendars=choices, write_entries="write_entries" in request.POST
            )
            return redirect("calendars:connection")
    except Problem as problem:
        return _problem(request, problem)
    failed_count, failed = selectors.failed_writes(connection=connection) if connection else (0, [])
    context = {
        "org": actor.org,
        "connection": connection,
        "failed_count": failed_count,
        "failed": failed,
        "calendars": list(connection.calendars.all()) if connection else [],
        "needs_reconsent": connection is not None and connection.status == CalendarConnection.Status.NEEDS_RECONSENT,
        "active": connection is not None and connection.status == CalendarConnection.Status.ACTIVE,
    }
    template = "calendars/partials/connection.html" if request.htmx else "calendars/connection.html"
    return render(request, template, context)


@require_POST
@login_required
def connect(request):
    try:
        actor = resolve_actor(request, require_org=True)
        return redirect(services.connection_start(actor=actor))
    except Problem as problem:
        return _problem(request, problem)


@require_GET
@login_required
def callback(request):
    try:
        actor = resolve_actor(request, require_org=True)
        if request.GET.get("error"):
            raise Problem(400, "OAUTH_DENIED", "Consent declined", "Google did not grant access.")
        services.connection_complete(actor=actor, state=request.GET.get("state", ""), code=request.GET.get("code", ""))
    except Problem as problem:
        return _problem(request, problem)
    return redirect("calendars:connection")


@require_POST
@login_required
def disconnect(request):
    try:
        actor = resolve_actor(request, require_org=True)
        connection = selectors.connection_for(actor=actor)
        if connection is not None:
            services.connection_disconnect(actor=actor, connection=connection)
    except Problem as problem:
        return _problem(request, problem)
    return redirect("calendars:connection")
