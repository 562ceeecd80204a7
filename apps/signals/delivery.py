"""Alert delivery: after an alert's event is dispatched (apps.events.tasks.dispatch_event),
fan it out to web push (every subscribed browser of the org's other members) and to the
org's ntfy topic. Each channel is its own retried task, so one failing never blocks the
other and never reaches the API caller."""

from functools import partial

from django.db import transaction

from apps.events.delivery import register


@register("incident.created")
def deliver_urgent_incident(event) -> None:
    """An urgent incident alerts like an alert signal does, unless an alert opened it (that
    alert was already pushed)."""
    data = event.data or {}
    if data.get("priority") == "urgent" and data.get("source") != "alert":
        deliver_alert(event)


@register("signal.alert")
def deliver_alert(event) -> None:
    from apps.signals import tasks

    # robust: an enqueue failure (or, with eager tasks, a delivery failure) of one channel
    # never keeps the other from running.
    transaction.on_commit(partial(tasks.push_alert.delay, str(event.pk)), robust=True)
    if (event.org.settings or {}).get("ntfy_topic"):
        transaction.on_commit(partial(tasks.ntfy_alert.delay, str(event.pk)), robust=True)
