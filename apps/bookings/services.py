"""Every booking write: hold → confirm, expiry, cancel, reschedule, event-type bookings.

Lock order is always team row, then the person-time lock (`apps.scheduling.locks`, shared
with schedule entries), then slot rows, then the booking row, so concurrent flows cannot
deadlock. Whether the person is free is asked of the one free/busy query under that lock,
so a booking and an entry save on two processes cannot both win. On PostgreSQL an
exclusion constraint (migration 0003) also makes a person's double booking impossible
even if a code path forgets the check; on SQLite the check alone holds, serialized by the
database's single writer. Slot seat counters change only through
`apps.scheduling.services.slot_seats_change`."""

import logging
import random
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.bookings import metrics
from apps.bookings.emails import manage_token
from apps.bookings.models import ACTIVE_STATUSES, Booking, EventType
from apps.bookings.pii import blind_index, encrypt
from apps.bookings.selectors import host_is_free
from apps.events.publish import publish_on_commit
from apps.orgs.models import Team, TeamMember
from apps.orgs.roles import FRONTDESK
from apps.scheduling.freebusy import free_busy
from apps.scheduling.locks import lock_person_time
from apps.scheduling.models import Person, SlotInstance
from apps.scheduling.services import slot_seats_change
from schedkit.api.problems import Problem
from schedkit.ids import uuid7
from schedkit.tokens import token_hash

HOLD_TTL = timedelta(minutes=10)
logger = logging.getLogger(__name__)
Status = Booking.Status


def booking_data(booking: Booking) -> dict:
    """The event payload: no attendee email/phone (PII stays encrypted in the database)."""
    return {
        "id": booking.pk,
        "status": booking.status,
        "slot_id": booking.slot_id,
        "event_type_id": booking.event_type_id,
        "person_id": booking.person_id,
        "start_at": booking.start_at,
        "end_at": booking.end_at,
        "attendee_name": booking.attendee_name,
    }


def _slot_full() -> Problem:
    metrics.BOOKING_CONFLICTS.labels("SLOT_FULL").inc()
    return Problem(409, "SLOT_FULL", "Slot is full", "No capacity left at this time; pick another slot.")


def _person_unavailable() -> Problem:
    metrics.BOOKING_CONFLICTS.labels("PERSON_UNAVAILABLE").inc()
    return Problem(409, "PERSON_UNAVAILABLE", "Person unavailable", "The person is already booked at this time.")


def _lock_person(person_id) -> Person | None:
    """Take the person-time lock of a booking's host (None: a slot with no person)."""
    if person_id is None:
        return None
    person = Person.objects.select_related("org", "location").get(pk=person_id)
    lock_person_time([person.membership_id])
    return person


def _person_busy(*, person: Person | None, start_at, end_at, seat_group: str, exclude_pk=None) -> bool:
    """Under the person-time lock: does anything occupy the person then (entries, other
    bookings, live holds, external calendars)? Seats of the same group share the time."""
    if person is None:
        return False
    exclude = [str(exclude_pk)] if exclude_pk is not None else ()
    time_of = free_busy(
        org=person.org,
        start=start_at,
        end=end_at,
        people=[person],
        exclude_refs=exclude,
        with_rules=False,
        fresh=True,  # under the lock: never the process cache
    )[person.pk]
    return any(i.start < end_at and i.end > start_at and i.group != seat_group for i in time_of.busy)


def _save_booking(booking: Booking) -> None:
    """Insert/update inside a savepoint: the exclusion constraint's violation is a 409.

    Field validation runs in Python; the database checks are left to the database, where
    they are enforced anyway. Django's `validate_unique` (the primary key, a fresh uuid7)
    and `validate_constraints` (`booking_order`, as a `SELECT`) would each be one more
    query inside the caller's locked transaction (issue 16: holds' shortest transaction)."""
    booking.full_clean(
        exclude=["slot", "event_type", "person", "user", "rescheduled_from", "org"],
        validate_unique=False,
        validate_constraints=False,
    )
    if booking.end_at <= booking.start_at:  # `booking_order`, checked here without a query
        raise ValidationError({"end_at": "The end must be after the start."})
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as exc:
        if "booking_person_no_overlap" in str(exc):
            raise _person_unavailable() from None
        raise


def _attendee_fields(*, attendee_email: str, attendee_phone: str) -> dict:
    return {
        "attendee_email_enc": encrypt(attendee_email),
        "attendee_phone_enc": encrypt(attendee_phone),
        "email_index": blind_index(attendee_email, kind="email"),
        "phone_index": blind_index(attendee_phone, kind="phone"),
    }


# --- slot holds ---------------------------------------------------------------------------


def _expire_slot_holds(slot: SlotInstance, now) -> int:
    """With the slot row locked: turn its overdue holds into `expired`, returning capacity."""
    expired = Booking.objects.filter(slot=slot, status=Status.HELD, hold_expires_at__lte=now).update(
        status=Status.EXPIRED, updated_at=now
    )
    if expired:
        slot_seats_change(slot=slot, hold=-expired)
    return expired


def booking_hold(
    *,
    actor_or_none,
    slot: SlotInstance,
    attendee_name: str,
    attendee_email: str = "",
    attendee_phone: str = "",
    notes: str = "",
    timezone_name: str = "",
) -> Booking:
    now = timezone.now()
    pii = _attendee_fields(attendee_email=attendee_email, attendee_phone=attendee_phone)  # CPU: before the locks
    with transaction.atomic():
        person = _lock_person(slot.person_id)
        if person is not None:
            _expire_person_holds(person.pk, now)
        slot = SlotInstance.objects.select_for_update(of=("self",)).select_related("org").get(pk=slot.pk)
        _expire_slot_holds(slot, now)
        if slot.status == SlotInstance.Status.BLOCKED or slot.start_at <= now:
            raise Problem(409, "SLOT_UNAVAILABLE", "Slot unavailable", "This slot is blocked or already started.")
        if slot.remaining <= 0:
            raise _slot_full()
        seat_group = f"slot:{slot.pk}"
        if _person_busy(person=person, start_at=slot.start_at, end_at=slot.end_at, seat_group=seat_group):
            raise _person_unavailable()
        booking = Booking(
            org_id=slot.org_id,
            slot=slot,
            person_id=slot.person_id,
            user=getattr(actor_or_none, "user", None),
            start_at=slot.start_at,
            end_at=slot.end_at,
            seat_group=seat_group,
            status=Status.HELD,
            hold_expires_at=now + HOLD_TTL,
            attendee_name=attendee_name,
            notes=notes,
            timezone=timezone_name,
            **pii,
        )
        _save_booking(booking)
        slot_seats_change(slot=slot, hold=+1)
        publish_on_commit(org=slot.org, type="booking.created", data=booking_data(booking))
    return booking


def booking_confirm(*, actor_or_none, booking: Booking) -> Booking:
    now = timezone.now()
    expired = False
    with transaction.atomic():
        slot = SlotInstance.objects.select_for_update().get(pk=booking.slot_id) if booking.slot_id else None
        booking = Booking.objects.select_for_update().select_related("org").get(pk=booking.pk)
        # A retry of the same request is replayed by its Idempotency-Key; another confirm of an
        # already-confirmed booking (a second tab, a racing client) is a conflict, so exactly
        # one caller ever sees the confirmation succeed and booking.confirmed is published once.
        if booking.status == Status.PENDING:
            _ensure_may_approve(actor_or_none, booking)
            return _host_decide(booking=booking, accept=True, now=now)
        if booking.status == Status.HELD and booking.hold_expires_at and booking.hold_expires_at <= now:
            _expire_slot_holds(slot, now)
            expired = True
        elif booking.status != Status.HELD:
            hint = "" if booking.status == Status.CONFIRMED else "; hold a slot again"
            raise Problem(409, "BOOKING_NOT_HELD", "Booking is not held", f"The booking is {booking.status}{hint}.")
        else:
            slot_seats_change(slot=slot, hold=-1, booked=+1)
            booking.status = Status.CONFIRMED
            booking.confirmed_at = now
            booking.hold_expires_at = None
            metrics.HOLD_TO_CONFIRM.observe((now - booking.created_at).total_seconds() * 1000)
            booking.save(update_fields=["status", "confirmed_at", "hold_expires_at", "updated_at"])
            publish_on_commit(org=booking.org, type="booking.confirmed", data=booking_data(booking))
    if expired:
        raise Problem(410, "HOLD_EXPIRED", "Hold expired", "The 10-minute hold ran out; hold the slot again.")
    return booking


def _ensure_may_approve(actor, booking: Booking) -> None:
    """A booking that requires confirmation is approved by its host (or staff who book for
    others), never by whoever made it: otherwise an attendee could skip the host."""
    if actor is None or actor.role in FRONTDESK:
        return
    host_membership_id = (
        Person.objects.filter(pk=booking.person_id).values_list("membership_id", flat=True).first()
        if booking.person_id
        else None
    )
    if host_membership_id is None or host_membership_id != actor.membership_id:
        raise Problem(
            403,
            "HOST_APPROVAL_REQUIRED",
            "Host approval required",
            "This booking waits for the host's confirmation; only the host or staff may confirm it.",
        )


def _expire_person_holds(person_id, now) -> None:
    """Under the person-time lock: the person's overdue holds must not block them (nor the
    exclusion constraint), so every write that occupies the person expires them first —
    slot holds under their slot lock (after the person lock, as the lock order says),
    event-type holds by their status alone."""
    overdue = Booking.objects.filter(person_id=person_id, status=Status.HELD, hold_expires_at__lte=now)
    slot_ids = sorted(set(overdue.filter(slot__isnull=False).values_list("slot_id", flat=True)))
    for slot in SlotInstance.objects.select_for_update().filter(pk__in=slot_ids).order_by("pk"):
        _expire_slot_holds(slot, now)
    overdue.filter(slot__isnull=True).update(status=Status.EXPIRED, updated_at=now)


def holds_expire_due(*, limit: int = 1000) -> int:
    """The minutely job (and reads call it too): expire overdue holds, restoring capacity."""
    now = timezone.now()
    slot_ids = list(
        Booking.objects.filter(status=Status.HELD, hold_expires_at__lte=now, slot__isnull=False)
        .values_list("slot_id", flat=True)
        .distinct()[:limit]
    )
    total = 0
    for slot_id in slot_ids:
        with transaction.atomic():
            slot = SlotInstance.objects.select_for_update().filter(pk=slot_id).first()
            if slot is not None:
                total += _expire_slot_holds(slot, now)
    # Event-type holds have no slot counters: just the status.
    total += Booking.objects.filter(status=Status.HELD, hold_expires_at__lte=now, slot__isnull=True).update(
        status=Status.EXPIRED, updated_at=now
    )
    return total


# --- cancel / reschedule ------------------------------------------------------------------


def _release_seat(slot: SlotInstance | None, status: str) -> None:
    if slot is None:
        return
    if status == Status.HELD:
        slot_seats_change(slot=slot, hold=-1)
    elif status in (Status.CONFIRMED, Status.PENDING):
        slot_seats_change(slot=slot, booked=-1)


def booking_cancel(*, actor_or_none, booking: Booking, reason: str = "") -> Booking:
    with transaction.atomic():
        slot = SlotInstance.objects.select_for_update().get(pk=booking.slot_id) if booking.slot_id else None
        booking = Booking.objects.select_for_update().select_related("org").get(pk=booking.pk)
        if booking.status not in ACTIVE_STATUSES:
            raise Problem(409, "BOOKING_NOT_ACTIVE", "Booking is not active", f"The booking is {booking.status}.")
        _release_seat(slot, booking.status)
        booking.status = Status.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.cancel_reason = reason[:500]
        booking.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
        cancelled_by = getattr(getattr(actor_or_none, "user", None), "pk", None)  # None: the attendee's link
        publish_on_commit(
            org=booking.org,
            type="booking.cancelled",
            data={**booking_data(booking), "reason": reason, "cancelled_by_user_id": cancelled_by},
        )
    return booking


def booking_reschedule(
    *, actor_or_none, booking: Booking, new_slot: SlotInstance | None = None, new_start=None
) -> Booking:
    """Move an active booking to another slot (slot bookings) or start time (event types)."""
    if booking.slot_id is not None:
        if new_slot is None:
            raise Problem(400, "VALIDATION_ERROR", "Invalid input", "slot_id: a slot booking moves to another slot.")
        return _reschedule_slot(booking=booking, new_slot=new_slot)
    if new_start is None:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "start_time: required to reschedule.")
    return _reschedule_event(booking=booking, new_start=new_start)


def _reschedule_slot(*, booking: Booking, new_slot: SlotInstance) -> Booking:
    if new_slot.pk == booking.slot_id:
        return booking
    now = timezone.now()
    with transaction.atomic():
        person = _lock_person(new_slot.person_id)
        if person is not None:
            _expire_person_holds(person.pk, now)
        locked = {
            s.pk: s
            for s in SlotInstance.objects.select_for_update()
            .filter(pk__in=[booking.slot_id, new_slot.pk])
            .order_by("pk")
        }
        old, new = locked[booking.slot_id], locked[new_slot.pk]
        booking = Booking.objects.select_for_update().select_related("org").get(pk=booking.pk)
        if booking.status not in ACTIVE_STATUSES:
            raise Problem(409, "BOOKING_NOT_ACTIVE", "Booking is not active", f"The booking is {booking.status}.")
        if new.org_id != booking.org_id:
            raise Problem(404, "NOT_FOUND", "Not found", "No such slot in this organization.")
        _expire_slot_holds(new, now)
        if new.status == SlotInstance.Status.BLOCKED or new.start_at <= now:
            raise Problem(409, "SLOT_UNAVAILABLE", "Slot unavailable", "This slot is blocked or already started.")
        if new.remaining <= 0:
            raise _slot_full()
        seat_group = f"slot:{new.pk}"
        if _person_busy(
            person=person,
            start_at=new.start_at,
            end_at=new.end_at,
            seat_group=seat_group,
            exclude_pk=booking.pk,
        ):
            raise _person_unavailable()
        status = booking.status
        _release_seat(old, status)
        slot_seats_change(slot=new, **({"hold": +1} if status == Status.HELD else {"booked": +1}))
        previous = {"start_at": booking.start_at, "slot_id": booking.slot_id}
        booking.slot, booking.person_id = new, new.person_id
        booking.start_at, booking.end_at, booking.seat_group = new.start_at, new.end_at, seat_group
        _save_booking(booking)
        publish_on_commit(
            org=booking.org, type="booking.rescheduled", data={**booking_data(booking), "previous": previous}
        )
    return booking


def _reschedule_event(*, booking: Booking, new_start) -> Booking:
    event_type = booking.event_type
    end = new_start + timedelta(minutes=event_type.duration_minutes)
    with transaction.atomic():
        if _lock_person(booking.person_id) is not None:
            _expire_person_holds(booking.person_id, timezone.now())
        booking = Booking.objects.select_for_update().select_related("org").get(pk=booking.pk)
        if booking.status not in ACTIVE_STATUSES:
            raise Problem(409, "BOOKING_NOT_ACTIVE", "Booking is not active", f"The booking is {booking.status}.")
        if not host_is_free(event_type=event_type, person=booking.person, start_at=new_start, exclude_pk=booking.pk):
            raise Problem(409, "SLOT_UNAVAILABLE", "Time unavailable", "The host is not available at that time.")
        previous = {"start_at": booking.start_at}
        booking.start_at, booking.end_at = new_start, end
        booking.seat_group = f"et:{event_type.pk}:{new_start.isoformat()}"
        _save_booking(booking)
        publish_on_commit(
            org=booking.org, type="booking.rescheduled", data={**booking_data(booking), "previous": previous}
        )
    return booking


# --- event types and host bookings --------------------------------------------------------


def event_type_create(*, actor, **fields) -> EventType:
    event_type = EventType(org_id=actor.org_id, **fields)
    if event_type.person_id or event_type.team_id:
        owner = Q(person=event_type.person) if event_type.person_id else Q(team=event_type.team)
        if EventType.objects.filter(owner, slug=event_type.slug).exists():
            raise Problem(409, "EVENT_TYPE_SLUG_TAKEN", "Slug taken", f"The slug {event_type.slug!r} is in use.")
    event_type.full_clean()
    event_type.save()
    return event_type


def event_type_update(*, actor, event_type: EventType, **changes) -> EventType:
    for field, value in changes.items():
        setattr(event_type, field, value)
    event_type.full_clean()
    event_type.save()
    return event_type


def event_type_delete(*, actor, event_type: EventType) -> None:
    if event_type.bookings.exists():
        raise Problem(409, "EVENT_TYPE_IN_USE", "Event type has bookings", "Cancel or keep; it has bookings.")
    event_type.delete()


def _pick_team_member(*, event_type: EventType, team: Team, start_at) -> tuple[Person, TeamMember]:
    members = list(
        TeamMember.objects.filter(team=team, active=True, membership__active=True, membership__person__active=True)
        .select_related("membership__person__location", "membership__person__org")
        .order_by(F("last_assigned_at").asc(nulls_first=True), "id")
    )
    free = [tm for tm in members if host_is_free(event_type=event_type, person=tm.membership.person, start_at=start_at)]
    if not free:
        raise Problem(409, "SLOT_UNAVAILABLE", "Time unavailable", "No team member is available at that time.")
    chosen = random.choice(free) if team.routing_strategy == Team.Routing.RANDOM else free[0]
    return chosen.membership.person, chosen


def booking_book(
    *,
    event_type: EventType,
    start_at,
    attendee_name: str,
    attendee_email: str,
    attendee_phone: str = "",
    notes: str = "",
    timezone_name: str = "",
    user=None,
) -> tuple[Booking, str]:
    """A public booking of an event type (a person's, or a team's by its routing strategy).
    Returns the booking and the raw manage token for the cancel/reschedule/confirm links."""
    end_at = start_at + timedelta(minutes=event_type.duration_minutes)
    booking_id = uuid7()
    raw = manage_token(booking_id)  # derived, so every later email can carry the same links
    hashed = token_hash(raw)
    with transaction.atomic():
        team_member = None
        if event_type.team_id:
            # One lock per team serializes its assignments (fair rotation, no double pick).
            team = Team.objects.select_for_update().get(pk=event_type.team_id)
            person, team_member = _pick_team_member(event_type=event_type, team=team, start_at=start_at)
        else:
            person = event_type.person
        person = _lock_person(person.pk)
        _expire_person_holds(person.pk, timezone.now())
        if not host_is_free(event_type=event_type, person=person, start_at=start_at):
            taken = Booking.objects.filter(
                event_type=event_type, person=person, start_at=start_at, status__in=ACTIVE_STATUSES
            ).aggregate(n=Count("id"))["n"]
            if taken >= event_type.capacity:
                raise _slot_full()
            raise Problem(409, "SLOT_UNAVAILABLE", "Time unavailable", "That time is not bookable; pick another.")
        booking = Booking(
            id=booking_id,
            org_id=event_type.org_id,
            event_type=event_type,
            person=person,
            user=user,
            start_at=start_at,
            end_at=end_at,
            seat_group=f"et:{event_type.pk}:{start_at.isoformat()}",
            status=Status.PENDING if event_type.requires_confirmation else Status.CONFIRMED,
            confirmed_at=None if event_type.requires_confirmation else timezone.now(),
            attendee_name=attendee_name,
            notes=notes,
            timezone=timezone_name,
            token_hash=hashed,
            **_attendee_fields(attendee_email=attendee_email, attendee_phone=attendee_phone),
        )
        _save_booking(booking)
        if team_member is not None:
            TeamMember.objects.filter(pk=team_member.pk).update(last_assigned_at=timezone.now())
        org = event_type.org
        publish_on_commit(org=org, type="booking.created", data=booking_data(booking))
        if booking.status == Status.CONFIRMED:
            publish_on_commit(org=org, type="booking.confirmed", data=booking_data(booking))
    return booking, raw


def _host_decide(*, booking: Booking, accept: bool, now) -> Booking:
    if accept:
        booking.status, booking.confirmed_at = Status.CONFIRMED, now
        booking.save(update_fields=["status", "confirmed_at", "updated_at"])
        publish_on_commit(org=booking.org, type="booking.confirmed", data=booking_data(booking))
    else:
        booking.status, booking.cancelled_at = Status.DECLINED, now
        booking.save(update_fields=["status", "cancelled_at", "updated_at"])
        publish_on_commit(
            org=booking.org, type="booking.cancelled", data={**booking_data(booking), "reason": "declined"}
        )
    return booking


def booking_host_decision(*, booking: Booking, accept: bool) -> Booking:
    """The host's confirm/decline (tokenized email link) of a `pending` booking."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().select_related("org").get(pk=booking.pk)
        if booking.status != Status.PENDING:
            raise Problem(409, "BOOKING_NOT_PENDING", "Booking is not pending", f"The booking is {booking.status}.")
        booking = _host_decide(booking=booking, accept=accept, now=timezone.now())
    return booking
