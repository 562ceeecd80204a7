"""Booking reads: host slots (constant query count), the fair exposure subset, dates.

Host slots = the host's availability windows (person rules, else their location's rules),
minus their active bookings and live holds widened by the event type's buffers, within the
minimum notice, booking window and per-day limit. Three queries whatever the bookings."""

import hashlib
import random
import uuid
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import F, Q, Sum
from django.http import Http404
from django.utils import timezone

from apps.bookings import metrics
from apps.bookings.models import ACTIVE_STATUSES, Booking, EventType
from apps.orgs.models import Team
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance
from apps.scheduling.services import expand_day

EXPOSURE_TTL = 420  # seconds: sticky for 7 minutes
UTC = zoneinfo.ZoneInfo("UTC")


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def access_booking(actor, booking_id) -> Booking:
    booking = Booking.objects.for_actor(actor).filter(pk=_uuid_or_404(booking_id)).first()
    if booking is None:
        raise Http404
    return booking


def access_slot(actor, slot_id) -> SlotInstance:
    slot = SlotInstance.objects.for_actor(actor).filter(pk=_uuid_or_404(slot_id)).first()
    if slot is None:
        raise Http404
    return slot


def access_location(actor, location_id) -> Location:
    location = Location.objects.for_actor(actor).filter(pk=_uuid_or_404(location_id)).first()
    if location is None:
        raise Http404
    return location


def access_person(actor, person_id) -> Person:
    person = Person.objects.for_actor(actor).filter(pk=_uuid_or_404(person_id)).select_related("location").first()
    if person is None:
        raise Http404
    return person


def booking_by_token(raw_token: str) -> Booking:
    from apps.bookings.services import token_hash

    booking = (
        Booking.objects.filter(token_hash=token_hash(raw_token)).select_related("event_type", "person", "org").first()
        if raw_token
        else None
    )
    if booking is None:
        raise Http404
    return booking


# --- event types and host slots -----------------------------------------------------------


def person_event_type(*, username: str, slug: str) -> EventType:
    event_type = (
        EventType.objects.filter(
            person__membership__user__username=username, person__active=True, slug=slug, org__is_active=True
        )
        .select_related("person__location", "person__org", "org")
        .first()
    )
    if event_type is None:
        raise Http404
    return event_type


def team_event_type(*, org_slug: str, team_slug: str, slug: str) -> EventType:
    event_type = (
        EventType.objects.filter(team__org__slug=org_slug, team__slug=team_slug, slug=slug, org__is_active=True)
        .select_related("team", "org")
        .first()
    )
    if event_type is None:
        raise Http404
    return event_type


def _host_rules(person: Person) -> list[AvailabilityRule]:
    rules = list(
        AvailabilityRule.objects.filter(Q(person=person) | Q(person__isnull=True, location_id=person.location_id))
    )
    own = [r for r in rules if r.person_id == person.pk]
    return own or [r for r in rules if r.person_id is None]


def _busy(person_ids, start, end, now, exclude_pk=None) -> list[Booking]:
    qs = (
        Booking.objects.filter(person_id__in=person_ids, status__in=ACTIVE_STATUSES, start_at__lt=end, end_at__gt=start)
        .exclude(status=Booking.Status.HELD, hold_expires_at__lte=now)
        .select_related("event_type")
        .only(
            "id",
            "person_id",
            "event_type_id",
            "start_at",
            "end_at",
            "seat_group",
            "event_type__buffer_before_minutes",
            "event_type__buffer_after_minutes",
        )
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs)


def _padded_start(booking: Booking):
    """A booking occupies its host for its own buffers too."""
    et = booking.event_type
    return booking.start_at - timedelta(minutes=et.buffer_before_minutes if et else 0)


def _padded_end(booking: Booking):
    et = booking.event_type
    return booking.end_at + timedelta(minutes=et.buffer_after_minutes if et else 0)


def host_slots(
    *,
    event_type: EventType,
    person: Person,
    day: date,
    tz_name: str | None = None,
    exclude_pk=None,
    rules=None,
    busy=None,
) -> list[dict]:
    """Every bookable start of `event_type` with `person` on `day` (a date in tz_name)."""
    now = timezone.now()
    host_tz = zoneinfo.ZoneInfo(person.tz_name)
    view_tz = zoneinfo.ZoneInfo(tz_name) if tz_name else host_tz
    day_start = datetime.combine(day, time.min, tzinfo=view_tz).astimezone(UTC)
    day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=view_tz).astimezone(UTC)
    before = timedelta(minutes=event_type.buffer_before_minutes)
    after = timedelta(minutes=event_type.buffer_after_minutes)
    length = timedelta(minutes=event_type.duration_minutes)
    rules = _host_rules(person) if rules is None else rules
    if busy is None:
        busy = _busy([person.pk], day_start - timedelta(days=1), day_end + timedelta(days=1), now, exclude_pk)
    earliest = now + timedelta(minutes=event_type.minimum_notice_minutes)
    latest = now + timedelta(days=event_type.booking_window_days)
    # Each busy booking once: its seat group and its time widened by its own buffers.
    occupied = [(b.seat_group, _padded_start(b), _padded_end(b)) for b in busy]
    seats_taken: dict = {}
    for group, _s, _e in occupied:
        seats_taken[group] = seats_taken.get(group, 0) + 1
    out, seen = [], set()
    for local_day in (day - timedelta(days=1), day, day + timedelta(days=1)):
        candidates = expand_day(rules, local_day, host_tz, length=length)
        if event_type.per_day_limit is not None:
            taken_today = sum(
                1
                for b in busy
                if b.event_type_id == event_type.pk and b.start_at.astimezone(host_tz).date() == local_day
            )
            if taken_today >= event_type.per_day_limit:
                continue
        for start, end, _capacity, _rule in candidates:
            if not (day_start <= start < day_end) or start < earliest or start > latest or start in seen:
                continue
            group = f"et:{event_type.pk}:{start.isoformat()}"
            seats = event_type.capacity - seats_taken.get(group, 0)
            lo, hi = start - before, end + after
            if seats > 0 and not any(g != group and b_start < hi and b_end > lo for g, b_start, b_end in occupied):
                seen.add(start)
                out.append({"start": start, "end": end, "seats_left": seats})
    return sorted(out, key=lambda s: s["start"])


def host_is_free(*, event_type: EventType, person: Person, start_at, exclude_pk=None) -> bool:
    day = start_at.astimezone(zoneinfo.ZoneInfo(person.tz_name)).date()
    slots = host_slots(event_type=event_type, person=person, day=day, exclude_pk=exclude_pk)
    return any(s["start"] == start_at for s in slots)


def team_slots(*, event_type: EventType, day: date, tz_name: str | None = None) -> list[dict]:
    """Union of the active team members' host slots: three queries for any team size."""
    people = list(
        Person.objects.filter(
            membership__team_memberships__team_id=event_type.team_id,
            membership__team_memberships__active=True,
            membership__active=True,
            active=True,
        ).select_related("location", "org")
    )
    if not people:
        return []
    location_ids = {p.location_id for p in people if p.location_id}
    rules = list(
        AvailabilityRule.objects.filter(Q(person__in=people) | Q(person__isnull=True, location_id__in=location_ids))
    )
    view_tz = zoneinfo.ZoneInfo(tz_name) if tz_name else zoneinfo.ZoneInfo(event_type.org.timezone)
    start = datetime.combine(day - timedelta(days=2), time.min, tzinfo=view_tz)
    busy = _busy([p.pk for p in people], start, start + timedelta(days=5), timezone.now())
    merged: dict = {}
    for person in people:
        own = [r for r in rules if r.person_id == person.pk] or [
            r for r in rules if r.person_id is None and r.location_id == person.location_id
        ]
        mine = [b for b in busy if b.person_id == person.pk]
        for slot in host_slots(
            event_type=event_type,
            person=person,
            day=day,
            tz_name=tz_name or event_type.org.timezone,
            rules=own,
            busy=mine,
        ):
            current = merged.get(slot["start"])
            if current is None:
                merged[slot["start"]] = dict(slot)
            else:
                current["seats_left"] += slot["seats_left"]
    return [merged[k] for k in sorted(merged)]


def team_for(event_type: EventType) -> Team:
    return event_type.team


# --- exposure (general scheduler) ---------------------------------------------------------


def _available(qs):
    return qs.filter(
        status__in=[SlotInstance.Status.OPEN, SlotInstance.Status.PARTIAL],
        capacity__gt=F("booked") + F("hold"),
        start_at__gt=timezone.now(),
    )


def _refresh_expired_holds(org_id) -> None:
    """Expired holds give their capacity back before anything is exposed."""
    if Booking.objects.filter(org_id=org_id, status=Booking.Status.HELD, hold_expires_at__lte=timezone.now()).exists():
        from apps.bookings.services import holds_expire_due

        holds_expire_due()


def exposure_seed(*, session: str, day: date, person_id, window: str) -> int:
    raw = f"{session}|{day.isoformat()}|{person_id or 'all'}|{window}"
    return int.from_bytes(hashlib.sha256(raw.encode()).digest()[:8], "big")


def pick_exposed(slots: list, *, seed: int, person_scoped: bool, tz) -> list:
    """The reference pseudocode: seeded shuffle, k in 1–3 (person) or 3–5 (location) capped
    by availability, one slot per day part (morning/afternoon/evening) first, then the rest."""
    rng = random.Random(seed)
    shuffled = sorted(slots, key=lambda s: s.pk)
    rng.shuffle(shuffled)
    k = min(len(shuffled), rng.choice((1, 2, 3) if person_scoped else (3, 4, 5)))
    buckets = {"am": [], "pm": [], "ev": []}
    for slot in shuffled:
        hour = slot.start_at.astimezone(tz).hour
        part = "am" if 6 <= hour < 12 else "pm" if 12 <= hour < 17 else "ev" if 17 <= hour < 22 else None
        if part:
            buckets[part].append(slot)
    pick = []
    for part in ("am", "pm", "ev"):
        if buckets[part] and len(pick) < k:
            pick.append(buckets[part].pop(0))
    rest = [s for s in shuffled if s not in pick]
    pick += rest[: max(0, k - len(pick))]
    return pick


def slots_exposed(
    *, actor, session: str, location: Location, person: Person | None, day: date, variant: str = ""
) -> dict:
    _refresh_expired_holds(location.org_id)
    qs = _available(SlotInstance.objects.for_actor(actor).filter(location=location, date=day))
    if person is not None:
        qs = qs.filter(person=person)
    slots = list(qs.order_by("start_at", "id"))
    tz = zoneinfo.ZoneInfo(person.tz_name if person else location.timezone)
    if variant == "all":
        return {"date": day, "slots": slots, "total": len(slots), "has_more": False, "variant": "all"}
    window = timezone.now().strftime("%Y%m%d%H")  # the salt rotates hourly
    key = f"expose:{session}:{location.pk}:{day.isoformat()}:{person.pk if person else 'all'}"
    by_id = {str(s.pk): s for s in slots}
    cached = cache.get(key)
    if cached and all(slot_id in by_id for slot_id in cached):
        pick = [by_id[slot_id] for slot_id in cached]
    else:
        seed = exposure_seed(session=session, day=day, person_id=person.pk if person else None, window=window)
        pick = pick_exposed(slots, seed=seed, person_scoped=person is not None, tz=tz)
        cache.set(key, [str(s.pk) for s in pick], EXPOSURE_TTL)
    pick.sort(key=lambda s: s.start_at)
    metrics.EXPOSED_SLOTS.labels("person" if person is not None else "location").observe(len(pick))
    return {"date": day, "slots": pick, "total": len(slots), "has_more": len(slots) > len(pick), "variant": "default"}


def dates_available(*, actor, location: Location, person: Person | None, days: int = 14) -> list[dict]:
    _refresh_expired_holds(location.org_id)
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(location.timezone)).date()
    qs = _available(
        SlotInstance.objects.for_actor(actor).filter(
            location=location, date__gte=today, date__lt=today + timedelta(days=days)
        )
    )
    if person is not None:
        qs = qs.filter(person=person)
    rows = qs.values("date").annotate(available=Sum(F("capacity") - F("booked") - F("hold"))).order_by("date")
    return [{"date": row["date"], "available": row["available"]} for row in rows]


def booking_list(*, actor, filters: dict):
    qs = Booking.objects.for_actor(actor).select_related("slot", "event_type")
    for field in ("status", "person_id", "event_type_id"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    if filters.get("location_id"):
        qs = qs.filter(slot__location_id=filters["location_id"])
    if filters.get("start_after"):
        qs = qs.filter(start_at__gte=filters["start_after"])
    if filters.get("start_before"):
        qs = qs.filter(start_at__lt=filters["start_before"])
    if filters.get("email"):
        from apps.bookings.pii import blind_index

        qs = qs.filter(email_index=blind_index(filters["email"], kind="email"))
    return qs
