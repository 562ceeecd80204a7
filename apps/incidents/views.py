"""Dispatcher pages (board, detail, war room) and the public status page. One view serves the
page and its htmx partial; writes go through the same services as the API."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone as dj_timezone
from django.views.decorators.http import require_GET, require_POST

import schedkit.display as display
from apps.incidents import clock, panels, selectors, services
from apps.incidents.models import Incident, Priority, SlaStatus, Status, manages_incidents
from apps.orgs.models import Membership
from apps.orgs.tenancy import resolve_actor
from schedkit.api.problems import Problem
from schedkit.maps import base_map_config

BOARD_PAGE = 200  # rows per "show more"
BOARD_MAX = 2000
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


def _limit(request) -> int:
    try:
        return max(BOARD_PAGE, min(BOARD_MAX, int(request.GET.get("limit", BOARD_PAGE))))
    except ValueError:
        return BOARD_PAGE


def _board_rows(request) -> dict:
    """The rows shown, how many match in all, and the query string of "show more"."""
    actor = request.actor
    filters = {k: v for k, v in request.GET.items() if k in ("status", "priority", "assignee") and v}
    if "status" not in filters:
        filters["status"] = "open,in_progress"
    elif filters["status"] == "all":
        del filters["status"]
    limit = _limit(request)
    try:
        queryset = selectors.incident_search(
            selectors.incident_list(fetched_by=actor, filters=filters), request.GET.get("q", "")
        )
        total = queryset.count()
        incidents = list(queryset.order_by("sla_due_at", "id")[:limit])
    except Exception:  # noqa: BLE001 - a hand-edited bad filter shows an empty board, not a 500
        incidents, total = [], 0
    now = clock.now()
    for incident in incidents:
        incident.sla_now = incident.sla_status_at(now)
        incident.can_change = manages_incidents(actor.role) or incident.is_assigned_to(actor.membership_id)
    more = request.GET.copy()
    more["limit"] = str(limit + BOARD_PAGE)
    return {
        "incidents": incidents,
        "total": total,
        "more_query": more.urlencode() if total > len(incidents) and limit < BOARD_MAX else "",
    }


PIN_STYLES = ["vendor/leaflet/leaflet.css"]
PIN_SCRIPTS = ["vendor/leaflet/leaflet.js", "js/basemap.js", "incidents/pin.js"]


def _pin_config(actor) -> dict:
    """The new-incident form's pin map (static/incidents/pin.js): the shared base map, framed on
    where the org's recent incidents were (the world when there are none)."""
    places = selectors.recent_places(fetched_by=actor)
    bounds = None
    if places:
        lats, lngs = [p[0] for p in places], [p[1] for p in places]
        bounds = [[min(lats), min(lngs)], [max(lats), max(lngs)]]
    return {**base_map_config(), "bounds": bounds}


def _with_new_incident(context: dict) -> dict:
    """A full board / war room page: the new-incident form's pin map and its assets."""
    if context["can_manage"]:
        context.update(pin_config=_pin_config(context["actor"]), page_styles=PIN_STYLES, page_scripts=PIN_SCRIPTS)
    return context


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
        "new_form": NewIncidentForm(members=()),
        **extra,
    }


@require_GET
@page_view
def board(request):
    """The incident board; htmx asks for just the rows (filters, live refresh)."""
    context = _context(request, **_board_rows(request))
    if request.htmx and request.htmx.target == "incident-rows":
        return render(request, "incidents/partials/board_rows.html", context)
    return render(request, "incidents/board.html", _with_new_incident(context))


class NewIncidentForm(forms.Form):
    title = forms.CharField(max_length=300)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    description = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea)
    location_name = forms.CharField(max_length=200, required=False)
    lat = forms.FloatField(min_value=-90, max_value=90, required=False)
    lng = forms.FloatField(min_value=-180, max_value=180, required=False)
    assignee_ids = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee_ids"].choices = [(str(m.pk), display.person_name(m.user)) for m in members]

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        return data


@require_POST
@page_view
def create(request):
    """The board's "New incident" form: through incident_create like POST /v1/incidents."""
    actor = request.actor
    if not manages_incidents(actor.role):
        return _problem_page(request, Problem(403, "FORBIDDEN", "Forbidden", "Only schedulers create incidents."))
    members = list(selectors.assignable_members(org=actor.org))
    form = NewIncidentForm(request.POST, members=members)
    if form.is_valid():
        data = dict(form.cleaned_data)
        ids = set(data.pop("assignee_ids"))
        try:
            incident = services.incident_create(
                actor=actor, org=actor.org, assignees=[m for m in members if str(m.pk) in ids], **data
            )
        except Problem as problem:
            form.add_error(None, str(problem.detail))
        else:
            return redirect(f"{reverse('incidents:board')}?org={actor.org.slug}&created={incident.pk}")
    context = _context(request, **_board_rows(request), new_form=form, new_open=True)
    return render(request, "incidents/board.html", _with_new_incident(context), status=400)


@require_GET
@page_view
def war_room(request):
    """Board plus the org's live event feed and the panels other apps add (the live map)."""
    context = _context(request, **_board_rows(request), war_room=True)
    if request.htmx and request.htmx.target == "incident-rows":
        return render(request, "incidents/partials/board_rows.html", context)
    _with_new_incident(context)
    context["panels"] = panels.war_room_panels(request, request.actor)
    context["page_styles"] = panels.assets(context.get("page_styles", ()), *(p["styles"] for p in context["panels"]))
    context["page_scripts"] = panels.assets(context.get("page_scripts", ()), *(p["scripts"] for p in context["panels"]))
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
