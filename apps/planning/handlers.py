"""Events planning consumes and delivers (registered with apps.events.delivery; the lower
apps never import planning).

- `schedule.published` → an email/push to each affected person (one retried task each).
- `booking.created` (the reference's reservation.created), `signal.alert` and an urgent
  `incident.created` (emergency.triggered / wildlife_alert.issued) → re-plan the affected
  day: a debounced schedule request whose proposal waits to be applied under the rev."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.events.delivery import register
from apps.events.enqueue import enqueue_on_commit
from apps.planning import services, tasks


@register("schedule.published")
def deliver_published(event) -> None:
    people = sorted({a["membership_id"] for a in (event.data or {}).get("assignments", []) if a.get("membership_id")})
    for membership_id in people:
        # The event is the row behind this work: if the broker refuses, it goes back to
        # undispatched and the outbox relay delivers it again (at least once: a redelivery may tell
        # someone twice, never no one).
        enqueue_on_commit(tasks.notify_published, str(event.pk), membership_id, requeue_event=event.pk)


def _local_date(org, moment: datetime | None):
    return (moment or timezone.now()).astimezone(ZoneInfo(org.timezone)).date()


@register("booking.created")
def replan_for_booking(event) -> None:
    start = parse_datetime((event.data or {}).get("start_at") or "")
    services.schedule_replan(org=event.org, day=_local_date(event.org, start), trigger=f"booking.created:{event.pk}")


@register("signal.alert")
def replan_for_alert(event) -> None:
    services.schedule_replan(org=event.org, day=_local_date(event.org, None), trigger=f"signal.alert:{event.pk}")


@register("incident.created")
def replan_for_urgent_incident(event) -> None:
    if (event.data or {}).get("priority") == "urgent":
        services.schedule_replan(
            org=event.org, day=_local_date(event.org, None), trigger=f"incident.created:{event.pk}"
        )
