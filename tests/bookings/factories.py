"""Factories and org-isolation harness registrations for the bookings app."""

from django.utils import timezone

from apps.bookings.models import Booking, EventType
from apps.bookings.pii import blind_index, encrypt
from tests import tenancy
from tests.scheduling.factories import make_location, make_person, make_slot


def make_event_type(org, person=None, team=None, **fields) -> EventType:
    if person is None and team is None:
        person = make_person(org, make_location(org))
    defaults = {"slug": "intro", "title": "Intro call", "duration_minutes": 30}
    return EventType.objects.create(org=org, person=person, team=team, **{**defaults, **fields})


def make_booking(slot, *, status="confirmed", email="ann@example.test") -> Booking:
    return Booking.objects.create(
        org=slot.org,
        slot=slot,
        person=slot.person,
        start_at=slot.start_at,
        end_at=slot.end_at,
        seat_group=f"slot:{slot.pk}",
        status=status,
        attendee_name="Ann",
        attendee_email_enc=encrypt(email),
        email_index=blind_index(email, kind="email"),
        hold_expires_at=timezone.now() + timezone.timedelta(minutes=10) if status == "held" else None,
    )


@tenancy.register(EventType)
def _event_type(org):
    return make_event_type(org)


@tenancy.register(Booking)
def _booking(org):
    return make_booking(make_slot(make_location(org), capacity=2))
