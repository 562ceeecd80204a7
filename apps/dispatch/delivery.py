"""Dispatch's delivery handlers (registered with apps.events.delivery, which runs them when
an event is handed to delivery): auto-dispatch on `incident.created`, and the notices of
`dispatch.offered` / escalations. The incidents app never imports dispatch."""

from functools import partial

from django.db import transaction

from apps.dispatch import tasks
from apps.events.delivery import register
from apps.incidents.models import Priority, Source

PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def auto_dispatches(org, *, source: str, priority: str) -> bool:
    """Org.settings["auto_dispatch"] on, and: an alert signal, or an intake (webhook) alert at
    or above Org.settings["auto_dispatch_priority"] (default urgent)."""
    settings = org.settings or {}
    if settings.get("auto_dispatch") is not True:
        return False
    if source == Source.ALERT:
        return True
    if source != Source.WEBHOOK:
        return False
    threshold = settings.get("auto_dispatch_priority") or Priority.URGENT
    if threshold not in PRIORITY_ORDER or priority not in PRIORITY_ORDER:
        return False
    return PRIORITY_ORDER.index(priority) >= PRIORITY_ORDER.index(threshold)


@register("incident.created")
def auto_dispatch_incident(event) -> None:
    data = event.data or {}
    if auto_dispatches(event.org, source=data.get("source", ""), priority=data.get("priority", "")):
        transaction.on_commit(partial(tasks.auto_dispatch.delay, str(data["id"])), robust=True)


@register("dispatch.offered")
def notify_offered(event) -> None:
    assignment_id = (event.data.get("assignment") or {}).get("id")
    if assignment_id:
        transaction.on_commit(partial(tasks.notify_offer.delay, str(assignment_id)), robust=True)


@register("dispatch.escalated")
@register("dispatch.exhausted")
def notify_escalation(event) -> None:
    if event.data.get("notify_membership_ids"):
        transaction.on_commit(partial(tasks.notify_members.delay, str(event.pk)), robust=True)
