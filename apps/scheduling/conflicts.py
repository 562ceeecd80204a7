"""Assignee double-bookings: against other schedule entries (recurring ones expanded) and,
through a lazy seam, against bookings of the booking engine."""

import logging
from datetime import datetime

from django.apps import apps
from django.core.exceptions import FieldError
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Booking statuses that do not occupy a person.
_FREE_BOOKING_STATUSES = ("cancelled", "canceled", "expired", "declined", "rejected")


def _field(names: set, *candidates: str) -> str | None:
    return next((n for n in candidates if n in names), None)


def booking_conflicts(*, org_id, membership_ids, start: datetime, end: datetime) -> list[dict]:
    """Bookings of these people overlapping [start, end). Skipped (empty) while the bookings
    app or the fields it needs are absent; the integration adapts the field names here."""
    if not membership_ids:
        return []
    try:
        Booking = apps.get_model("bookings", "Booking")
    except LookupError:
        return []
    names = {f.name for f in Booking._meta.get_fields()}
    person = _field(names, "person", "membership", "assignee")
    start_f, end_f = _field(names, "start", "start_at"), _field(names, "end", "end_at")
    if person is None or start_f is None or end_f is None or not {"status", "org"} <= names:
        return []
    related = Booking._meta.get_field(person).related_model
    if related._meta.label == "orgs.Membership":
        who = person
    elif "membership" in {f.name for f in related._meta.get_fields()}:
        who = f"{person}__membership"
    else:
        return []
    try:
        rows = Booking.objects.filter(
            org_id=org_id,
            **{f"{start_f}__lt": end, f"{end_f}__gt": start, f"{who}__in": [str(m) for m in membership_ids]},
        ).exclude(status__in=_FREE_BOOKING_STATUSES)
        if "hold_expires_at" in names:  # an expired hold is free, whether or not the sweep ran
            rows = rows.exclude(status="held", hold_expires_at__lt=timezone.now())
        return [
            {
                "kind": "booking",
                "id": str(row["id"]),
                "title": "Booking",
                "start": row[start_f],
                "end": row[end_f],
                "status": row["status"],
                "assignee_id": str(row[who]),
            }
            for row in rows.values("id", start_f, end_f, "status", who)[:50]
        ]
    except (FieldError, ValueError, TypeError):  # a seam: a schema mismatch must not break scheduling
        logger.warning("booking conflict lookup skipped", exc_info=True)
        return []


def entry_conflicts(*, org, candidates: list[tuple[datetime, datetime, set]], exclude: set | None = None) -> list[dict]:
    """Clashes of candidate (start, end, assignee ids) intervals with other entries' instances
    and with bookings. `exclude` holds instance ids (or master ids) being replaced."""
    from apps.scheduling.selectors import org_instances

    if not candidates:
        return []
    exclude = exclude or set()
    window_start = min(c[0] for c in candidates)
    window_end = max(c[1] for c in candidates)
    people = set().union(*(c[2] for c in candidates))
    if not people:
        return []
    clashes: dict[tuple, dict] = {}
    others = org_instances(org=org, start=window_start, end=window_end, assignee_ids=people)
    for instance in others:
        if instance.id in exclude or str(instance.master.pk) in exclude or instance.status == "cancelled":
            continue
        ids = {str(a.pk) for a in instance.assignees}
        for start, end, who in candidates:
            shared = ids & {str(p) for p in who}
            if shared and instance.start < end and instance.end > start:
                for person in sorted(shared):
                    clashes[(instance.id, person)] = {
                        "kind": "schedule_entry",
                        "id": instance.id,
                        "entry_id": str(instance.master.pk),
                        "title": instance.title,
                        "start": instance.start,
                        "end": instance.end,
                        "assignee_id": person,
                    }
    for start, end, who in candidates:
        for booking in booking_conflicts(org_id=org.pk, membership_ids=who, start=start, end=end):
            clashes[(booking["id"], booking["assignee_id"])] = booking
    return sorted(clashes.values(), key=lambda c: (c["start"], c["id"]))
