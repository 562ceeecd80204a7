"""Reads of calendar sync: the busy source the time model calls, and the connection page."""

from apps.calendars.models import BusyBlock, CalendarConnection
from apps.scheduling.freebusy import Interval


def calendar_busy(*, org, people, start, end) -> dict:
    """Cached Google busy time of checked calendars of active connections: one query, never a
    call to Google (the cache is refreshed by calendars.busy_refresh_due)."""
    by_membership = {p.membership_id: p.pk for p in people}
    rows = (
        BusyBlock.objects.filter(
            org_id=org.pk,
            membership_id__in=list(by_membership),
            start__lt=end,
            end__gt=start,
            calendar__check_conflicts=True,
            calendar__connection__status=CalendarConnection.Status.ACTIVE,
        )
        .order_by()
        .values_list("membership_id", "start", "end", "calendar_id")
    )
    found: dict = {}
    for membership_id, b_start, b_end, calendar_id in rows:
        found.setdefault(by_membership[membership_id], []).append(
            Interval(b_start, b_end, "google", ref=f"google:{calendar_id}", title="Busy (Google Calendar)")
        )
    return found


def connection_for(*, actor) -> CalendarConnection | None:
    """The actor's own Google connection, with its calendars (the connection page)."""
    return CalendarConnection.objects.for_actor(actor).filter(provider="google").prefetch_related("calendars").first()
