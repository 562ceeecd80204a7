"""Booking emails (anymail in production, console/locmem locally). Every attendee email
carries the tokenized cancel and reschedule links; a pending booking's host gets signed
confirm/decline links."""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail

import schedkit.display as display
from apps.bookings.models import Booking

HOST_SALT = "bookings.host-decision"
#: The attendee email's subject after "<event title>: ".
SUBJECTS = {
    "created": "your booking",
    "confirmed": "booking confirmed",
    "declined": "booking declined",
    "cancelled": "booking cancelled",
    "rescheduled": "booking moved",
    "reminder": "reminder",
}


def host_token(booking: Booking) -> str:
    return signing.dumps({"b": str(booking.pk)}, salt=HOST_SALT)


def host_token_booking_id(token: str, max_age: int = 14 * 86400) -> str | None:
    try:
        return signing.loads(token, salt=HOST_SALT, max_age=max_age)["b"]
    except (signing.BadSignature, KeyError, TypeError):
        return None


def manage_urls(raw_token: str) -> dict:
    base = settings.PUBLIC_BASE_URL
    return {
        "cancel_url": f"{base}/book/manage/{raw_token}/cancel",
        "reschedule_url": f"{base}/book/manage/{raw_token}/reschedule",
    }


def send_booking_email(*, booking_id: str, raw_token: str | None, kind: str) -> bool:
    booking = Booking.objects.select_related("event_type", "person__membership__user").filter(pk=booking_id).first()
    if booking is None:
        return False
    title = booking.event_type.title if booking.event_type_id else "Appointment"
    host_tz = booking.person.tz_name if booking.person_id else None
    when = display.format_when(booking.start_at, display.customer_zone(booking.timezone, fallback=host_tz))
    attendee = booking.attendee_email
    lines = [f"{title} on {when} ({display.label(booking.status)})."]
    if raw_token:
        urls = manage_urls(raw_token)
        lines += [f"Cancel: {urls['cancel_url']}", f"Reschedule: {urls['reschedule_url']}"]
    if attendee:
        send_mail(f"{title}: {SUBJECTS.get(kind, display.label(kind))}", "\n".join(lines), None, [attendee])
    if kind == "created" and booking.status == Booking.Status.PENDING and booking.person_id:
        host = booking.person.membership.user
        token = host_token(booking)
        base = settings.PUBLIC_BASE_URL
        host_when = display.format_when(booking.start_at, display.customer_zone(host_tz))
        send_mail(
            f"Confirm booking: {title}",
            f"{booking.attendee_name} asked for {host_when}.\n"
            f"Confirm: {base}/book/host/{token}/confirm\nDecline: {base}/book/host/{token}/decline",
            None,
            [host.email],
        )
    return True
