"""What the bookings app does with its own events once they are dispatched
(apps.events.delivery): one lifecycle email task per recipient. Registered in
BookingsConfig.ready() together with the event type's webhook target (webhooks.py)."""

from apps.bookings.emails import email_kind, recipients_for
from apps.bookings.tasks import send_booking_email
from apps.events.delivery import register
from apps.events.enqueue import enqueue_on_commit


@register("booking.")
def booking_emails(event) -> None:
    kind = email_kind(event)
    if kind is None:
        return
    for role in recipients_for(kind):
        # The event is the row that records this work: a refused enqueue re-opens it.
        enqueue_on_commit(send_booking_email, str(event.pk), role, requeue_event=event.pk)
