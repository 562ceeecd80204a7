"""The hook into the outbox delivery: every booking.* event enqueues a reconcile of that
booking's calendar event (by id, after commit). The task reads the booking's current state,
so the handler needs nothing else from the event."""

import logging

from django.db import transaction

from apps.calendars.tasks import write_booking
from apps.events.delivery import register

logger = logging.getLogger(__name__)


def _enqueue(booking_id: str) -> None:
    try:
        write_booking.delay(booking_id)
    except Exception:  # noqa: BLE001 - a broker outage never fails the booking; write_retry covers links
        logger.warning("could not enqueue the calendar write for booking %s", booking_id)


@register("booking.")
def enqueue_calendar_write(event) -> None:
    booking_id = (event.data or {}).get("id")
    if booking_id:
        transaction.on_commit(lambda: _enqueue(str(booking_id)))
