"""Reads of calendar sync: the busy source the time model calls, and the connection page."""

from datetime import UTC, datetime

from django.db import connection

from apps.calendars.models import BusyBlock, CalendarConnection, CalendarEventLink, ConnectedCalendar
from apps.scheduling.freebusy import Interval
from schedkit.db import id_set

BUSY_REF = "google"
BUSY_TITLE = "Busy (Google Calendar)"


# Busy blocks of the given memberships in the window, from checked calendars of active
# connections: instants as epoch seconds (`date_part`: a float8), the memberships one array.
_BUSY_SQL = f"""
SELECT b.membership_id::text, date_part('epoch', b.start), date_part('epoch', b."end")
  FROM {BusyBlock._meta.db_table} b
  JOIN {ConnectedCalendar._meta.db_table} c ON c.id = b.calendar_id
  JOIN {CalendarConnection._meta.db_table} k ON k.id = c.connection_id
 WHERE b.org_id = %(org)s AND b.membership_id = ANY(%(memberships)s::uuid[])
   AND b.start < %(end)s AND b."end" > %(start)s AND c.check_conflicts AND k.status = %(active)s
"""


def calendar_busy(*, org, people, start, end) -> dict:
    """Cached Google busy time of checked calendars of active connections: one query, never a
    call to Google (the cache is refreshed by calendars.busy_refresh_due); on PostgreSQL
    hand-written (no ORM building per call)."""
    if connection.vendor == "postgresql":
        by_membership = {str(p.membership_id): p.pk for p in people}
        params = {
            "org": org.pk,
            "memberships": "{" + ",".join(by_membership) + "}",
            "start": start,
            "end": end,
            "active": CalendarConnection.Status.ACTIVE,
        }
        with connection.cursor() as cursor:
            cursor.execute(_BUSY_SQL, params)
            rows = cursor.fetchall()
        at = _from_epoch
    else:
        by_membership = {p.membership_id: p.pk for p in people}
        rows = BusyBlock.objects.filter(
            org_id=org.pk,
            membership_id__in=id_set(by_membership),
            start__lt=end,
            end__gt=start,
            calendar__check_conflicts=True,
            calendar__connection__status=CalendarConnection.Status.ACTIVE,
        ).values_list("membership_id", "start", "end")
        at = _same
    spans: dict = {}
    for membership_id, b_start, b_end in rows:
        spans.setdefault(membership_id, []).append((b_start, b_end))
    found: dict = {}
    for membership_id, raw in spans.items():
        # one interval per busy stretch (several checked calendars overlap): less work per slot
        merged: list[list] = []
        for b_start, b_end in sorted(raw):
            if merged and b_start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b_end)
            else:
                merged.append([b_start, b_end])
        found[by_membership[membership_id]] = [
            Interval(at(s), at(e), "google", ref=BUSY_REF, title=BUSY_TITLE) for s, e in merged
        ]
    return found


def failed_writes(*, connection: CalendarConnection, limit: int = 5) -> tuple[int, list[CalendarEventLink]]:
    """Writes to Google still failing (retried with backoff): how many, and the latest few
    (the connection page lists them; a later successful busy refresh clears `last_error`,
    not these)."""
    qs = CalendarEventLink.objects.filter(connection=connection, state=CalendarEventLink.State.FAILED)
    latest = list(qs.order_by("-updated_at")[:limit])
    return (len(latest) if len(latest) < limit else qs.count()), latest


def entry_writes_possible(*, org_id, entry_id) -> bool:
    """Could a change of this entry touch a Google calendar: a connection of the org writes
    entries, or an event of the entry was written before (its removal is due)."""
    writing = CalendarConnection.objects.filter(
        org_id=org_id, write_entries=True, status=CalendarConnection.Status.ACTIVE
    ).exists()
    return writing or CalendarEventLink.objects.filter(org_id=org_id, entry_id=entry_id).exists()


def connection_for(*, actor) -> CalendarConnection | None:
    """The actor's own Google connection, with its calendars (the connection page)."""
    return CalendarConnection.objects.for_actor(actor).filter(provider="google").prefetch_related("calendars").first()


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _same(value):
    return value
