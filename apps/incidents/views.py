"""Dispatcher pages (board, detail, war room) and the public status page. One view serves the
page and its htmx partial; writes go through the same services as the API."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone as dj_timezone
from django.views.decorators.http import require_GET, require_POST

from apps.incidents import clock, selectors, services
from apps.incidents.models import Incident, Priority, SlaStatus, Status, manages_incidents
from apps.orgs.models import Membership
from apps.orgs.tenancy import resolve_actor
from schedkit import display
from schedkit.api.problems import Problem

BOARD_LIMIT = 200
SLA_ORDER = {SlaStatus.BREACHED: 0, SlaStatus.AT_RISK: 1, SlaStatus.OK: 2, SlaStatus.MET: 3}


def _actor(request):
    return resolve_actor(request, require_org=True)


def _problem_page(request, problem: Problem):
    return render(request, "incidents/problem.html", {"problem": problem}, status=problem.status_code)


def page_view(view):
    """login_required + the request's org resolved like the API does (?org= / X-Org / only org)."""

    @login_required
    def wrapper(request, *args, **kwargs):
        try:
            request.actor = _actor(request)
        except Problem as problem:
            return _problem_page(request, problem)
        dj_timezone.activate(display.staff_zone(user=request.user, org=request.actor.org))
        try:
            return view(request, *args, **kwargs)
        finally:
            dj_timezone.deactivate()

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _board_rows(request):
    actor = request.actor
    filters = {k: v for k, v in request.GET.items() if k in ("status", "priority", "assignee") and v}
    if "status" not in filters:
        filters["status"] = "open,in_progress"
    elif filters["status"] == "all":
        del filters["status"]
    try:
        incidents = list(
            selectors.incident_list(fetched_by=actor, filters=filters).order_by("sla_due_at")[:BOARD_LIMIT]
        )
    except Exception:  # noqa: BLE001 - a hand-edited bad filter shows an empty board, not a 500
        incidents = []
    now = clock.now()
    for incident in incidents:
        incident.sla_now = incident.sla_status_at(now)
        incident.can_change = manages_incidents(actor.role) or incident.is_assigned_to(actor.membership_id)
    return incidents


def _context(request, **extra):
    actor = request.actor
    return {
        "org": actor.org,
        "actor": actor,
        "can_manage": manages_incidents(actor.role),
        "members": list(selectors.assignable_members(org=actor.org)) if manages_incidents(actor.role) else [],
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "filters": request.GET,
        **extra,
    }


@require_GET
@page_view
def board(request):
    """The incident board; htmx asks for just the rows (filters, live refresh)."""
    context = _context(request, incidents=_board_rows(request))
    if request.htmx and request.htmx.target == "incident-rows":
        return render(request, "incidents/partials/board_rows.html", context)
    return render(request, "incidents/board.html", context)


@require_GET
@page_view
def war_room(request):
    """Board plus the org's live event feed."""
    context = _context(request, incidents=_board_rows(request), war_room=True)
    if request.htmx and request.htmx.target == "incident-rows":
        return render(request, "incidents/partials/board_rows.html", context)
    return render(request, "incidents/war_room.html", context)


def _detail_context(request, incident: Incident, error: str | None = None):
    actor = request.actor
    incident.sla_now = incident.sla_status_at(clock.now())
    incident.can_change = manages_incidents(actor.role) or incident.is_assigned_to(actor.membership_id)
    return _context(
        request,
        incident=incident,
        activity=list(selectors.incident_activity(incident=incident)[:200]),
        member_names={str(m.pk): display.person_name(m.user) for m in selectors.org_members(org=actor.org)},
        error=error,
    )


@require_GET
@page_view
def detail(request, incident_id):
    incident = selectors.access_incident(request.actor, incident_id)
    context = _detail_context(request, incident)
    if request.htmx and request.htmx.target == "incident-detail":
        return render(request, "incidents/partials/detail_body.html", context)
    return render(request, "incidents/detail.html", context)


def _after_write(request, incident_id, error: str | None = None):
    """Answer an htmx write with the fragment that asked: a board row or the detail body."""
    incident = selectors.access_incident(request.actor, incident_id)
    if request.POST.get("from") == "board":
        incident.sla_now = incident.sla_status_at(clock.now())
        incident.can_change = manages_incidents(request.actor.role) or incident.is_assigned_to(
            request.actor.membership_id
        )
        context = _context(request, incident=incident, error=error)
        return render(request, "incidents/partials/board_row.html", context)
    return render(request, "incidents/partials/detail_body.html", _detail_context(request, incident, error))


@require_POST
@page_view
def transition(request, incident_id):
    incident = selectors.access_incident(request.actor, incident_id)
    error = None
    try:
        services.incident_transition(
            actor=request.actor, incident=incident, to=request.POST.get("status", ""), note=request.POST.get("note", "")
        )
    except Problem as problem:
        error = str(problem.detail)
    return _after_write(request, incident_id, error)


@require_POST
@page_view
def assign(request, incident_id):
    incident = selectors.access_incident(request.actor, incident_id)
    ids = [i for i in request.POST.getlist("assignee_ids") if i]
    error = None
    try:
        members = list(Membership.objects.for_actor(request.actor).filter(pk__in=ids))
        if len(members) != len(set(ids)):
            raise Problem(400, "VALIDATION_ERROR", "Invalid input", "Unknown assignee.")
        services.incident_assign(actor=request.actor, incident=incident, assignees=members)
    except Problem as problem:
        error = str(problem.detail)
    except ValueError:
        error = "Unknown assignee."
    return _after_write(request, incident_id, error)


@require_POST
@page_view
def comment(request, incident_id):
    incident = selectors.access_incident(request.actor, incident_id)
    error = None
    try:
        services.incident_comment(actor=request.actor, incident=incident, body=request.POST.get("body", ""))
    except Problem as problem:
        error = str(problem.detail)
    return _after_write(request, incident_id, error)


@require_GET
def public_status(request, token):
    """The customer's status page: public fields only, refreshed by htmx polling."""
    try:
        incident = selectors.incident_by_customer_token(token)
    except Http404:
        return render(request, "incidents/status_not_found.html", status=404)
    context = {
        "incident": incident,
        "sla_status": incident.sla_status_at(clock.now()),
        "zone": display.customer_zone(None, fallback=incident.org),
    }
    if request.htmx:
        return render(request, "incidents/partials/status_body.html", context)
    response = render(request, "incidents/status.html", context)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
