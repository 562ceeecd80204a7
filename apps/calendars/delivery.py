"""The hook into the outbox delivery: every booking.* event enqueues a reconcile of that
booking's calendar event (by id, after commit), through the one enqueue helper: when the
broker refuses, the event goes back to undispatched and the relay hands it over again (the
task reads the booking's current state, so a second run is harmless)."""

from apps.calendars.tasks import write_booking
from apps.events.delivery import register
from apps.events.enqueue import enqueue_on_commit


@register("booking.")
def enqueue_calendar_write(event) -> None:
    booking_id = (event.data or {}).get("id")
    if booking_id:
        enqueue_on_commit(write_booking, str(booking_id), requeue_event=event.pk)
