"""Thin Celery tasks: load by id, call a service, own the retries (backoff)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.calendars import services
from apps.calendars.google import GoogleRequestError, TransientGoogleError
from apps.calendars.models import CalendarConnection, CalendarEventLink
from apps.events.enqueue import enqueue_now

MAX_WRITE_ATTEMPTS = 10

#: Retry policies, one per kind of work: reads (a sync) give up sooner than writes, which must
#: eventually land on the person's calendar.
SYNC_RETRY = {
    "autoretry_for": (TransientGoogleError,),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "max_retries": 5,
}
WRITE_RETRY = {
    "autoretry_for": (TransientGoogleError, GoogleRequestError),
    "retry_backoff": 10,
    "retry_backoff_max": 3600,
    "max_retries": 8,
}
ENTRIES_SYNC_RETRY = {**SYNC_RETRY, "autoretry_for": (TransientGoogleError, GoogleRequestError)}


@shared_task(name="calendars.sync_connection", **SYNC_RETRY)
def sync_connection(connection_id: str) -> str:
    return services.connection_sync(connection_id=connection_id)


@shared_task(name="calendars.busy_refresh_due")
def busy_refresh_due(limit: int = 200) -> int:
    """Every minute: refresh connections whose busy cache is older than the refresh window."""
    stale = timezone.now() - timedelta(seconds=settings.GOOGLE_BUSY_REFRESH_SECONDS)
    ids = list(
        CalendarConnection.objects.filter(status=CalendarConnection.Status.ACTIVE)
        .filter(Q(last_sync_at__isnull=True) | Q(last_sync_at__lt=stale))
        .order_by("last_sync_at")
        .values_list("id", flat=True)[:limit]
    )
    for connection_id in ids:
        enqueue_now(sync_connection, str(connection_id))  # refused: still stale, the next minute's sweep
    return len(ids)


@shared_task(name="calendars.write_booking", **WRITE_RETRY)
def write_booking(booking_id: str) -> str:
    return services.booking_event_sync(booking_id=booking_id)


@shared_task(name="calendars.write_entry", **WRITE_RETRY)
def write_entry(entry_id: str) -> dict:
    return services.entry_events_sync(entry_id=entry_id)


@shared_task(name="calendars.sync_entries", **ENTRIES_SYNC_RETRY)
def sync_entries(connection_id: str) -> int:
    return services.connection_entries_sync(connection_id=connection_id)


@shared_task(name="calendars.entry_writes_due")
def entry_writes_due(limit: int = 200) -> int:
    """Every ten minutes: connections whose pass over the person's entries is due — never
        done since the connection was made or `write_entries` changed (a no-op pass when it is
    off and nothing was written), or older than GOOGLE_ENTRY_PASS_HOURS (so a series' later
        instances are written as they come into the window)."""
    stale = timezone.now() - timedelta(hours=settings.GOOGLE_ENTRY_PASS_HOURS)
    ids = list(
        CalendarConnection.objects.filter(status=CalendarConnection.Status.ACTIVE)
        .filter(Q(entries_synced_at__isnull=True) | Q(write_entries=True, entries_synced_at__lt=stale))
        .order_by("entries_synced_at")
        .values_list("id", flat=True)[:limit]
    )
    for connection_id in ids:
        enqueue_now(sync_entries, str(connection_id))  # refused: still due, the next sweep
    return len(ids)


@shared_task(name="calendars.write_retry")
def write_retry(limit: int = 200) -> int:
    """Every five minutes: writes that failed past their task's retries get another go."""
    rows = list(
        CalendarEventLink.objects.filter(
            state__in=[CalendarEventLink.State.FAILED, CalendarEventLink.State.PENDING],
            connection__status=CalendarConnection.Status.ACTIVE,  # a lost grant: nothing to retry until reconnected
            attempts__lt=MAX_WRITE_ATTEMPTS,
            updated_at__lt=timezone.now() - timedelta(minutes=5),
        ).values_list("booking_id", "entry_id")[:limit]
    )
    bookings = {b for b, _e in rows if b}
    entries = {e for _b, e in rows if e}
    for booking_id in bookings:
        enqueue_now(write_booking, str(booking_id))  # refused: the link stays pending for the next sweep
    for entry_id in entries:
        enqueue_now(write_entry, str(entry_id))
    return len(bookings) + len(entries)
