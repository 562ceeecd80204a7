"""The responder's phone answers an offer on the org websocket it already holds:

    {"type": "assignment.ack", "assignment_id": "…", "ref"?}
    {"type": "assignment.decline", "assignment_id": "…", "reason"?, "ref"?}
    {"type": "assignment.status", "assignment_id": "…", "status": "en_route" | "on_scene" | "released", "ref"?}

each answered with `{"type": "assignment.updated", "ref", "assignment": {…}}`, or by the
consumer's `{"type": "error", "code", …}` (ASSIGNMENT_EXPIRED, ASSIGNMENT_NOT_YOURS, …).
Registered with apps.events.ws_handlers in DispatchConfig.ready()."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404

from apps.dispatch import selectors, services
from apps.dispatch.models import ResponderStatus
from apps.events.ws_handlers import register_ws_handler
from schedkit.api.problems import Problem

FIELDS = {
    "ack": {"type", "ref", "assignment_id"},
    "decline": {"type", "ref", "assignment_id", "reason"},
    "status": {"type", "ref", "assignment_id", "status"},
}


def _answer(actor, message: dict, action: str) -> dict:
    unknown = sorted(set(message) - FIELDS[action])
    if unknown:
        raise Problem(400, "VALIDATION_ERROR", "Invalid message", f"Unknown fields: {', '.join(unknown)}.")
    try:
        assignment = selectors.access_assignment(actor, message.get("assignment_id"))
    except Http404:
        raise Problem(404, "NOT_FOUND", "Not found", "No such assignment.") from None
    if action == "status":
        status = message.get("status")
        if status not in ResponderStatus.values:
            raise Problem(400, "VALIDATION_ERROR", "Invalid message", "status is en_route, on_scene or released.")
        action = status
    reason = message.get("reason") if isinstance(message.get("reason"), str) else ""
    assignment = services.assignment_respond(actor=actor, assignment=assignment, action=action, reason=reason[:500])
    fresh = selectors.access_assignment(actor, assignment.pk)
    data = json.loads(json.dumps(services.assignment_data(fresh), cls=DjangoJSONEncoder))
    return {"type": "assignment.updated", "ref": message.get("ref"), "assignment": data}


@register_ws_handler("assignment.ack")
def ack_message(actor, message: dict) -> dict:
    return _answer(actor, message, "ack")


@register_ws_handler("assignment.decline")
def decline_message(actor, message: dict) -> dict:
    return _answer(actor, message, "decline")


@register_ws_handler("assignment.status")
def status_message(actor, message: dict) -> dict:
    return _answer(actor, message, "status")
