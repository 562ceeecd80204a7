"""Events planning consumes and delivers (registered with apps.events.delivery; the lower
apps never import planning).

- `schedule.published` → an email/push to each affected person (one retried task each).
- `booking.created` (the reference's reservation.created), `signal.alert` and an urgent
  `incident.created` (emergency.triggered / wildlife_alert.issued) → re-plan the affected
  day: a debounced schedule request whose proposal waits to be applied under the rev."""

from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.events.delivery import register
from apps.planning import services, tasks


@register("schedule.published")
def deliver_published(event) -> None:
    people = sorted({a["membership_id"] for a in (event.data or {}).get("assignments", []) if a.get("membership_id")})
    for membership_id in people:
        transaction.on_commit(partial(tasks.notify_published.delay, str(event.pk), membership_id), robust=True)


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
