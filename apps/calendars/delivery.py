"""The hook into the outbox delivery: every booking.* event enqueues a reconcile of that
booking's calendar event, every schedule.entry.* event one of that entry's instances' events
(by id, after commit), through the one enqueue helper: when the broker refuses, the event
goes back to undispatched and the relay hands it over again (the task reads the current
state, so a second run is harmless)."""

from apps.calendars.selectors import entry_writes_possible
from apps.calendars.tasks import write_booking, write_entry
from apps.events.delivery import register
from apps.events.enqueue import enqueue_on_commit


@register("booking.")
def enqueue_calendar_write(event) -> None:
    booking_id = (event.data or {}).get("id")
    if booking_id:
        enqueue_on_commit(write_booking, str(booking_id), requeue_event=event.pk)


@register("schedule.entry.")
def enqueue_entry_calendar_write(event) -> None:
    entry_id = (event.data or {}).get("id")
    # most orgs write no entries: no task at all unless someone could have an event of it
    if entry_id and entry_writes_possible(org_id=event.org_id, entry_id=entry_id):
        enqueue_on_commit(write_entry, str(entry_id), requeue_event=event.pk)
