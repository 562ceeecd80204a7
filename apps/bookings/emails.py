"""Booking lifecycle emails, one rendering path: an event of the outbox (`booking.*`) and a
recipient role (`attendee`, `host`) → one message in the recipient's zone, plain text and
HTML from `templates/emails/booking.{txt,html}`, with an iCalendar attachment (one UID per
booking, SEQUENCE rising with each change) so calendar clients update the same entry.

Attendee emails carry the manage (cancel/reschedule) links: the token is derived from the
booking id with a keyed hash (only its SHA-256 is stored), so every later email can carry
the same links. A pending booking's host gets signed confirm/decline links."""

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.crypto import salted_hmac

from apps.bookings.models import Booking
from apps.events.models import Event

HOST_SALT = "bookings.host-decision"
MANAGE_SALT = "bookings.manage-link"
ROLES = ("attendee", "host")

# kind → (subject for the attendee, subject for the host or None when the host gets none)
SUBJECTS = {
    "held": ("Held for you: {title}, {when}", None),
    "pending": ("Requested: {title}, {when} (awaiting confirmation)", "Please confirm: {attendee} — {title}, {when}"),
    "confirmed": ("Confirmed: {title}, {when}", "New booking: {attendee} — {title}, {when}"),
    "declined": ("Declined: {title}, {when}", None),
    "cancelled": ("Cancelled: {title}, {when}", "Cancelled: {attendee} — {title}, {when}"),
    "rescheduled": ("Rescheduled: {title}, now {when}", "Rescheduled: {attendee} — {title}, now {when}"),
}


def host_token(booking: Booking) -> str:
    return signing.dumps({"b": str(booking.pk)}, salt=HOST_SALT)


def host_token_booking_id(token: str, max_age: int = 14 * 86400) -> str | None:
    try:
        return signing.loads(token, salt=HOST_SALT, max_age=max_age)["b"]
    except (signing.BadSignature, KeyError, TypeError):
        return None


def manage_token(booking_id) -> str:
    """The raw manage-link token of a booking (stored only as its SHA-256)."""
    return salted_hmac(MANAGE_SALT, str(booking_id), algorithm="sha256").hexdigest()


def manage_urls(raw_token: str) -> dict:
    base = settings.PUBLIC_BASE_URL
    return {
        "cancel_url": f"{base}/book/manage/{raw_token}/cancel",
        "reschedule_url": f"{base}/book/manage/{raw_token}/reschedule",
    }


def booking_manage_urls(booking: Booking) -> dict:
    """The attendee's cancel/reschedule links of a booking ({} when it has no manage token):
    the one place emails and calendar events get them from."""
    if not booking.token_hash:
        return {}
    raw = manage_token(booking.pk)
    if hashlib.sha256(raw.encode()).hexdigest() != booking.token_hash:
        return {}
    return manage_urls(raw)


def email_kind(event: Event) -> str | None:
    """Which lifecycle email an event means (None: no email, e.g. the created event of a
    booking confirmed at once, whose booking.confirmed follows)."""
    data = event.data or {}
    kind = event.type.removeprefix("booking.")
    if kind == "created":
        return data.get("status") if data.get("status") in ("held", "pending") else None
    if kind == "cancelled" and data.get("status") == "declined":
        return "declined"
    return kind if kind in SUBJECTS else None


def recipients_for(kind: str) -> list[str]:
    return [role for role, subject in zip(ROLES, SUBJECTS[kind], strict=True) if subject]


def _sequence(event: Event, booking_id) -> int:
    """How many changes the booking had up to this event: the iCalendar SEQUENCE."""
    return (
        Event.objects.filter(org_id=event.org_id, type__startswith="booking.", id__lte=event.pk)
        .filter(data__id=str(booking_id))
        .exclude(type="booking.created")
        .count()
    )


def _when(start: datetime, end: datetime, tz_name: str) -> str:
    zone = ZoneInfo(tz_name)
    start, end = start.astimezone(zone), end.astimezone(zone)
    return f"{start:%a %-d %b %Y, %H:%M}–{end:%H:%M} ({tz_name})"


def _at(moment: datetime, tz_name: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz_name)):%H:%M} ({tz_name})"


def _parse(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _who_cancelled(data: dict, booking: Booking) -> str:
    user_id = data.get("cancelled_by_user_id")
    if not user_id:
        return "the attendee"
    host_user_id = booking.person.membership.user_id if booking.person_id else None
    return "the host" if str(user_id) == str(host_user_id) else "staff"


def _ics(*, booking: Booking, kind: str, sequence: int, title: str, host_email: str) -> bytes:
    cancel = kind in ("cancelled", "declined")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//SchedKit//Bookings//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    entry = icalendar.Event()
    entry.add("uid", f"booking-{booking.pk}@schedkit")
    entry.add("sequence", sequence)
    entry.add("dtstamp", booking.updated_at)
    entry.add("dtstart", booking.start_at)
    entry.add("dtend", booking.end_at)
    entry.add("summary", title)
    entry.add("status", "CANCELLED" if cancel else "CONFIRMED" if kind == "confirmed" else "TENTATIVE")
    if host_email:
        entry.add("organizer", f"mailto:{host_email}")
    if booking.attendee_email:
        entry.add("attendee", f"mailto:{booking.attendee_email}", parameters={"CN": booking.attendee_name})
    cal.add_component(entry)
    return cal.to_ical()


def render_booking_email(*, event: Event, role: str) -> EmailMultiAlternatives | None:
    """The message for one recipient of one lifecycle event, or None (no such recipient)."""
    kind = email_kind(event)
    if kind is None or role not in recipients_for(kind):
        return None
    data = event.data or {}
    booking = (
        Booking.objects.select_related("org", "event_type", "person__membership__user", "person__location")
        .filter(pk=data.get("id"), org_id=event.org_id)
        .first()
    )
    if booking is None:
        return None
    host = booking.person.membership.user if booking.person_id else None
    to = booking.attendee_email if role == "attendee" else getattr(host, "email", "")
    if not to:
        return None
    if role == "attendee":
        tz_name = booking.timezone or (booking.person.tz_name if booking.person_id else booking.org.timezone)
    else:
        tz_name = booking.person.tz_name if booking.person_id else booking.org.timezone
    title = booking.event_type.title if booking.event_type_id else "Appointment"
    start, end = _parse(data.get("start_at") or booking.start_at), _parse(data.get("end_at") or booking.end_at)
    previous = data.get("previous") or {}
    context = {
        "kind": kind,
        "role": role,
        "title": title,
        "org": booking.org.name,
        "attendee": booking.attendee_name,
        "host": (booking.person.name or getattr(host, "email", "")) if booking.person_id else "",
        "when": _when(start, end, tz_name),
        "old_when": (
            _when(_parse(previous["start_at"]), _parse(previous["start_at"]) + (end - start), tz_name)
            if previous.get("start_at")
            else ""
        ),
        "hold_until": _at(booking.hold_expires_at, tz_name) if kind == "held" and booking.hold_expires_at else "",
        "cancelled_by": _who_cancelled(data, booking) if kind == "cancelled" else "",
        "reason": data.get("reason", "") if kind == "cancelled" else "",
        "notes": booking.notes,
    }
    if role == "attendee" and kind not in ("cancelled", "declined"):
        context.update(booking_manage_urls(booking))
    if role == "host" and kind == "pending":
        token, base = host_token(booking), settings.PUBLIC_BASE_URL
        context.update(confirm_url=f"{base}/book/host/{token}/confirm", decline_url=f"{base}/book/host/{token}/decline")
    subject = SUBJECTS[kind][ROLES.index(role)].format(**context)
    message = EmailMultiAlternatives(subject, render_to_string("emails/booking.txt", context), None, [to])
    message.attach_alternative(render_to_string("emails/booking.html", context), "text/html")
    sequence = _sequence(event, booking.pk)
    ics = _ics(booking=booking, kind=kind, sequence=sequence, title=title, host_email=getattr(host, "email", ""))
    method = "CANCEL" if kind in ("cancelled", "declined") else "REQUEST"
    message.attach("invite.ics", ics, f"text/calendar; method={method}; charset=UTF-8")
    return message


def send_booking_email(*, event_id, role: str) -> bool:
    event = Event.objects.filter(pk=event_id).first()
    message = render_booking_email(event=event, role=role) if event is not None else None
    if message is None:
        return False
    message.send()
    return True
