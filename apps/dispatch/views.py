"""Dispatch pages: the dispatcher's panel for one incident (rank, dispatch, re-dispatch,
pick by hand; live chain with the ack countdown), the war room of running chains, and the
phone-sized responder page behind the signed link (ack / decline / navigate / status).
One view serves each page and its htmx partial; writes go through the services."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.dispatch import links, selectors, services
from apps.dispatch.models import Assignment, Dispatch
from apps.incidents import clock
from apps.incidents.selectors import access_incident
from apps.incidents.views import _problem_page, page_view
from apps.orgs.roles import SCHEDULERS
from schedkit.api.problems import Problem

RESPONDER_ACTIONS = ("ack", "decline", "en_route", "on_scene", "released")


def _panel_context(request, incident, *, ranked=None, error=None):
    state = selectors.incident_dispatch_state(incident=incident)
    if ranked is None:
        _, ranked = services.dispatch_rank(actor=request.actor, incident=incident)
    return {
        "org": request.actor.org,
        "incident": incident,
        "run": state["dispatch"],
        "assignments": state["assignments"],
        "candidates": ranked,
        "can_dispatch": request.actor.role in SCHEDULERS,
        "now": clock.now(),
        "error": error,
    }


@page_view
@require_http_methods(["GET", "POST"])
def incident_panel(request, incident_id):
    try:
        incident = access_incident(request.actor, incident_id)
    except Http404:
        raise
    error, ranked = None, None
    if request.method == "POST":
        if request.actor.role not in SCHEDULERS:
            return _problem_page(request, Problem(403, "PERMISSION_DENIED", "Permission denied", "Dispatchers only."))
        try:
            _, ranked = services.dispatch_start(
                actor=request.actor, incident=incident, person_id=request.POST.get("person_id") or None
            )
        except Problem as problem:
            error = str(problem.detail)
        except Exception as exc:  # noqa: BLE001 - a bad pick is shown on the page
            error = str(getattr(exc, "detail", exc))
    context = _panel_context(request, incident, ranked=ranked, error=error)
    if request.htmx:
        return render(request, "dispatch/partials/panel.html", context)
    return render(request, "dispatch/incident.html", context)


@page_view
def war_room(request):
    runs = list(
        Dispatch.objects.for_actor(request.actor)
        .select_related("incident")
        .prefetch_related("assignments__membership__user", "assignments__person")
        .order_by("-id")[:50]
    )
    context = {"org": request.actor.org, "runs": runs, "now": clock.now()}
    if request.htmx:
        return render(request, "dispatch/partials/war_room_body.html", context)
    return render(request, "dispatch/war_room.html", context)


@require_http_methods(["GET", "POST"])
def responder(request, token):
    """No login: the signed link is the responder's credential for this one assignment."""
    value = links.read_link_token(token)
    assignment = None
    if value is not None:
        assignment = (
            Assignment.objects.select_related("incident", "membership__user", "person")
            .filter(pk=value["a"], membership_id=value["m"])
            .first()
        )
    if assignment is None:
        return render(request, "dispatch/responder_gone.html", status=404)
    error = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in RESPONDER_ACTIONS:
            error = "Unknown action."
        else:
            try:
                services.assignment_respond(
                    actor=None, assignment=assignment, action=action, label=f"link:{assignment.membership_id}"
                )
            except Problem as problem:
                error = str(problem.detail)
        assignment.refresh_from_db()
    context = {"assignment": assignment, "incident": assignment.incident, "error": error, "token": token}
    if request.htmx:
        return render(request, "dispatch/partials/responder_body.html", context)
    return render(request, "dispatch/responder.html", context)
