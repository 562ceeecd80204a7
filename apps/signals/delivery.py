"""Push delivery (web push to every subscribed browser of the org's other members, and the
org's ntfy topic) for what responders must not miss: alert signals, new incidents of the
pushed priorities (`Org.settings.push_incident_priorities`, default high and urgent) and SLA
breaches. Registered with apps.events.delivery; each channel is its own retried task, so one
failing never blocks the other and never reaches the API caller."""

from apps.events.delivery import register
from apps.events.enqueue import enqueue_on_commit
from apps.signals import tasks

DEFAULT_PUSHED_PRIORITIES = ("high", "urgent")


def pushed_priorities(org) -> tuple[str, ...]:
    return tuple((org.settings or {}).get("push_incident_priorities", DEFAULT_PUSHED_PRIORITIES))


@register("incident.created")
def deliver_incident(event) -> None:
    """A new incident of a pushed priority alerts like an alert signal does, unless an alert
    opened it (that alert was already pushed)."""
    data = event.data or {}
    if data.get("priority") in pushed_priorities(event.org) and data.get("source") != "alert":
        deliver_alert(event)


@register("incident.updated")
def deliver_sla_breach(event) -> None:
    if "sla_breached" in ((event.data or {}).get("changed") or []) and (event.data or {}).get("sla_breached"):
        deliver_alert(event)


@register("signal.alert")
def deliver_alert(event) -> None:
    # The event records this work: a refused enqueue re-opens it for the relay.
    enqueue_on_commit(tasks.push_alert, str(event.pk), requeue_event=event.pk)
    if (event.org.settings or {}).get("ntfy_topic"):
        enqueue_on_commit(tasks.ntfy_alert, str(event.pk), requeue_event=event.pk)
