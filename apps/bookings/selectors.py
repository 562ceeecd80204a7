"""Booking reads: host slots (constant query count), the fair exposure subset, dates.

Host slots = the host's availability windows (person rules, else their location's rules),
minus their active bookings and live holds widened by the event type's buffers, within the
minimum notice, booking window and per-day limit. Three queries whatever the bookings."""

import hashlib
import random
import uuid
import zoneinfo
from bisect import bisect_left
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.core.cache import cache
from django.db import connection
from django.db.models import F, FloatField, Q, Sum
from django.db.models.functions import Cast, Extract
from django.http import Http404
from django.utils import timezone

from apps.bookings import metrics
from apps.bookings.models import ACTIVE_STATUSES, Booking, EventType
from apps.orgs.models import Team
from apps.scheduling.availability import expand_day
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance

EXPOSURE_TTL = 420  # seconds: sticky for 7 minutes
UTC = zoneinfo.ZoneInfo("UTC")


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def access_booking_by_host_token(token: str, decision: str) -> Booking:
    """The booking named by a host's signed email link (confirm/decline), or 404."""
    from apps.bookings.emails import host_token_booking_id

    booking_id = host_token_booking_id(token)
    booking = Booking.objects.filter(pk=booking_id).select_related("event_type").first() if booking_id else None
    if booking is None or decision not in ("confirm", "decline"):
        raise Http404
    return booking


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


class Busy(NamedTuple):
    """An active booking as the slot computation sees it: plain values, instants as POSIX
    seconds, no model instance (a month of a busy host is thousands of rows)."""

    person_id: uuid.UUID
    event_type_id: uuid.UUID | None
    seat_group: str
    start_ts: float
    padded_start: float  # a booking occupies its host for its own buffers too
    padded_end: float


def _epoch(field: str):
    return Cast(Extract(field, "epoch"), FloatField())


def _busy(person_ids, start, end, now, exclude_pk=None) -> list[Busy]:
    qs = Booking.objects.filter(
        person_id__in=person_ids, status__in=ACTIVE_STATUSES, start_at__lt=end, end_at__gt=start
    ).exclude(status=Booking.Status.HELD, hold_expires_at__lte=now)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    columns = ["person_id", "event_type_id", "seat_group", "start_ts", "end_ts"]
    buffers = ["event_type__buffer_before_minutes", "event_type__buffer_after_minutes"]
    if connection.vendor == "postgresql":  # the database does the conversion (cheaper)
        rows = qs.order_by().annotate(start_ts=_epoch("start_at"), end_ts=_epoch("end_at"))
        rows = rows.values_list(*columns, *buffers)
    else:
        rows = (
            (p, e, g, s.timestamp(), t.timestamp(), b, a)
            for p, e, g, s, t, b, a in qs.order_by().values_list(*columns[:3], "start_at", "end_at", *buffers)
        )
    return [
        Busy(person_id, event_type_id, group, start_ts, start_ts - 60 * (before or 0), end_ts + 60 * (after or 0))
        for person_id, event_type_id, group, start_ts, end_ts, before, after in rows
    ]


MAX_RANGE_DAYS = 31


def _view_range(day: date, end_day: date, view_tz) -> tuple[datetime, datetime]:
    """[start of `day`, end of `end_day`) in the viewer's zone, as UTC instants."""
    start = datetime.combine(day, time.min, tzinfo=view_tz).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=view_tz).astimezone(UTC)
    return start, end


def host_slots(
    *,
    event_type: EventType,
    person: Person,
    day: date,
    end_day: date | None = None,
    tz_name: str | None = None,
    exclude_pk=None,
    rules=None,
    busy=None,
    now=None,
) -> list[dict]:
    """Every bookable start of `event_type` with `person` on `day` (through `end_day`, a
    range of dates in tz_name). `now` (default: the current time) anchors the minimum notice
    and the booking window. Two queries (rules, busy) for any range and any bookings."""
    now = now or timezone.now()
    host_tz = zoneinfo.ZoneInfo(person.tz_name)
    view_tz = zoneinfo.ZoneInfo(tz_name) if tz_name else host_tz
    range_start, range_end = _view_range(day, end_day or day, view_tz)
    before = timedelta(minutes=event_type.buffer_before_minutes)
    after = timedelta(minutes=event_type.buffer_after_minutes)
    length = timedelta(minutes=event_type.duration_minutes)
    rules = _host_rules(person) if rules is None else rules
    if busy is None:
        busy = _busy([person.pk], range_start - timedelta(days=1), range_end + timedelta(days=1), now, exclude_pk)
    earliest = now + timedelta(minutes=event_type.minimum_notice_minutes)
    latest = now + timedelta(days=event_type.booking_window_days)
    # Each busy booking once: its time widened by its own buffers, sorted by start, so a
    # candidate only looks at the bookings that can reach it (bisect), not at all of them.
    # Instants as POSIX seconds: comparing floats is much cheaper than aware datetimes.
    occupied = sorted((b.padded_start, b.padded_end, b.seat_group) for b in busy)
    occupied_starts = [o[0] for o in occupied]
    longest = max((e - s for s, e, _g in occupied), default=0.0)
    seats_taken: dict = {}
    taken_per_day: dict = {}
    for b in busy:
        seats_taken[b.seat_group] = seats_taken.get(b.seat_group, 0) + 1
        if b.event_type_id == event_type.pk:
            local = datetime.fromtimestamp(b.start_ts, host_tz).date()
            taken_per_day[local] = taken_per_day.get(local, 0) + 1

    def blocked(lo, hi, group) -> bool:
        first = bisect_left(occupied_starts, lo - longest)
        last = bisect_left(occupied_starts, hi)
        return any(g != group and e > lo for _s, e, g in occupied[first:last])

    out, seen = [], set()
    # The host's local days that can hold a start inside the range (one day of margin).
    local_day = range_start.astimezone(host_tz).date() - timedelta(days=1)
    last_day = range_end.astimezone(host_tz).date()
    while local_day <= last_day:
        current, local_day = local_day, local_day + timedelta(days=1)
        if event_type.per_day_limit is not None and taken_per_day.get(current, 0) >= event_type.per_day_limit:
            continue
        for start, end, _capacity, _rule in expand_day(rules, current, host_tz, length=length):
            if not (range_start <= start < range_end) or start < earliest or start > latest or start in seen:
                continue
            group = f"et:{event_type.pk}:{start.isoformat()}"
            seats = event_type.capacity - seats_taken.get(group, 0)
            if seats > 0 and not blocked((start - before).timestamp(), (end + after).timestamp(), group):
                seen.add(start)
                out.append({"start": start, "end": end, "seats_left": seats})
    return sorted(out, key=lambda s: s["start"])


def host_is_free(*, event_type: EventType, person: Person, start_at, exclude_pk=None) -> bool:
    day = start_at.astimezone(zoneinfo.ZoneInfo(person.tz_name)).date()
    slots = host_slots(event_type=event_type, person=person, day=day, exclude_pk=exclude_pk)
    return any(s["start"] == start_at for s in slots)


def team_slots(
    *, event_type: EventType, day: date, end_day: date | None = None, tz_name: str | None = None
) -> list[dict]:
    """Union of the active team members' host slots on `day` (through `end_day`): three
    queries for any team size, any range and any bookings."""
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
    tz_name = tz_name or event_type.org.timezone
    range_start, range_end = _view_range(day, end_day or day, zoneinfo.ZoneInfo(tz_name))
    now = timezone.now()
    busy = _busy([p.pk for p in people], range_start - timedelta(days=2), range_end + timedelta(days=2), now)
    busy_of: dict = {}
    for b in busy:
        busy_of.setdefault(b.person_id, []).append(b)
    merged: dict = {}
    for person in people:
        own = [r for r in rules if r.person_id == person.pk] or [
            r for r in rules if r.person_id is None and r.location_id == person.location_id
        ]
        for slot in host_slots(
            event_type=event_type,
            person=person,
            day=day,
            end_day=end_day,
            tz_name=tz_name,
            rules=own,
            busy=busy_of.get(person.pk, []),
            now=now,
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
