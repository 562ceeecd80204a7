"""Thin Celery tasks: hold expiry (beat, every minute) and one lifecycle email per recipient."""

from celery import shared_task

from apps.bookings import emails, services


@shared_task(name="bookings.holds_expire")
def holds_expire_task() -> int:
    return services.holds_expire_due()


@shared_task(
    name="bookings.send_email", autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=8
)
def send_booking_email(event_id: str, role: str) -> bool:
    """Mailjet down or answering 5xx: retried with backoff; the booking is long committed."""
    return emails.send_booking_email(event_id=event_id, role=role)
