"""Booking reads: host slots (constant query count), the fair exposure subset, dates, and
the booking engine's busy source for the free/busy query.

Host slots = the host's availability slots (person rules, else their location's rules) minus
their busy time from `apps.scheduling.freebusy` (entries, bookings and live holds widened by
their buffers, every registered source), within the minimum notice, booking window and
per-day limit. A constant number of queries whatever the bookings and entries."""

import functools
import hashlib
import random
import zoneinfo
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter, itemgetter

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from apps.bookings import metrics
from apps.bookings.emails import host_token_booking_id
from apps.bookings.models import ACTIVE_STATUSES, Booking, EventType
from apps.bookings.pii import blind_index
from apps.orgs.models import Team
from apps.scheduling.availability import expand_day
from apps.scheduling.freebusy import Interval, PersonTime, free_busy
from apps.scheduling.models import Location, Person, SlotInstance
from schedkit.db import id_set
from schedkit.tokens import token_hash

EXPOSURE_TTL = 420  # seconds: sticky for 7 minutes


def access_booking_by_host_token(token: str, decision: str) -> Booking:
    """The booking named by a host's signed email link (confirm/decline), or 404."""
    booking_id = host_token_booking_id(token)
    booking = Booking.objects.filter(pk=booking_id).select_related("event_type").first() if booking_id else None
    if booking is None or decision not in ("confirm", "decline"):
        raise Http404
    return booking


def access_booking(actor, booking_id) -> Booking:
    return Booking.objects.access(actor, booking_id)


def access_slot(actor, slot_id) -> SlotInstance:
    return SlotInstance.objects.access(actor, slot_id)


def access_location(actor, location_id) -> Location:
    return Location.objects.access(actor, location_id)


def access_person(actor, person_id) -> Person:
    return Person.objects.select_related("location").access(actor, person_id)


def booking_by_token(raw_token: str) -> Booking:
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


ZERO = timedelta(0)


def _instant(value) -> datetime:
    """Epoch seconds (the PostgreSQL query) or a datetime (the ORM elsewhere) as a datetime."""
    return value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)


def _same(value):
    return value


@functools.lru_cache(maxsize=20_000)
def _busy_interval(pk, status, group, start_at, end_at, before, after) -> Interval:
    """One booking row's busy interval, kept by the row's values (a changed booking is a new
    key; an `Interval` is frozen, so calls share it). Whether a hold is still live is decided
    by the query of every call, never here."""
    return Interval(
        _instant(start_at),
        _instant(end_at),
        "hold" if status == Booking.Status.HELD else "booking",
        ref=pk,
        title="Booking",
        status=status,
        group=group,
        pad_before=timedelta(minutes=before) if before else ZERO,
        pad_after=timedelta(minutes=after) if after else ZERO,
    )


# Bookings of the given statuses (holds only while live) of the given people in the window, with their event type's
# buffers: instants as epoch seconds (`date_part`: a float8, where `extract` makes a numeric),
# ids as text, the people one array parameter.
_BUSY_SQL = f"""
SELECT b.id::text, b.person_id::text, b.status, b.seat_group,
       date_part('epoch', b.start_at), date_part('epoch', b.end_at),
       t.buffer_before_minutes, t.buffer_after_minutes
  FROM {Booking._meta.db_table} b LEFT JOIN {EventType._meta.db_table} t ON t.id = b.event_type_id
 WHERE b.org_id = %(org)s AND b.person_id = ANY(%(people)s::uuid[]) AND b.status = ANY(%(active)s)
   AND b.start_at < %(end)s AND b.end_at > %(start)s
   AND (b.status <> %(held)s OR b.hold_expires_at IS NULL OR b.hold_expires_at > %(now)s)
"""


def booking_busy(*, org, people, start, end) -> dict:
    """The booking engine's busy source for the free/busy query: active bookings and live
    holds (an expired hold never counts, whether or not the sweep ran), each widened by its
    event type's buffers and tagged with its seat group. One query for any number of people.
    free/busy keeps the non-hold part under the org's time version (every booking write
    bumps it: bookings.apps) and asks `hold_busy` for the holds on a repeated read."""
    return _bookings(org=org, people=people, start=start, end=end, statuses=ACTIVE_STATUSES)


def hold_busy(*, org, people, start, end) -> dict:
    """Live holds alone: they expire by the clock, so free/busy reads them on every call."""
    return _bookings(org=org, people=people, start=start, end=end, statuses=(Booking.Status.HELD,))


def _bookings(*, org, people, start, end, statuses) -> dict:
    """Bookings of these statuses (holds only while live) as busy intervals per person: one
    query (on PostgreSQL hand-written: no ORM building per call, nothing parsed in Python)."""
    now = timezone.now()
    held = Booking.Status.HELD
    if connection.vendor == "postgresql":
        by_text = {str(p.pk): p.pk for p in people}
        person_of = by_text.__getitem__
        params = {
            "org": org.pk,
            "people": "{" + ",".join(by_text) + "}",
            "active": list(statuses),
            "start": start,
            "end": end,
            "held": held,
            "now": now,
        }
        with connection.cursor() as cursor:
            cursor.execute(_BUSY_SQL, params)
            rows = cursor.fetchall()
    else:
        rows = (
            Booking.objects.filter(
                org=org,
                person_id__in=id_set(p.pk for p in people),
                status__in=statuses,
                start_at__lt=end,
                end_at__gt=start,
            )
            .exclude(status=held, hold_expires_at__lte=now)
            .order_by()
            .values_list(
                "pk", "person_id", "status", "seat_group", "start_at", "end_at",
                "event_type__buffer_before_minutes", "event_type__buffer_after_minutes",
            )
        )  # fmt: skip
        person_of = _same
    found: dict = {}
    for pk, person, status, group, start_at, end_at, before, after in rows:
        interval = _busy_interval(str(pk), status, group, start_at, end_at, before, after)
        person_id = person_of(person)
        bucket = found.get(person_id)
        if bucket is None:
            found[person_id] = [interval]
        else:
            bucket.append(interval)
    return found


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
    time_of: PersonTime | None = None,
    now=None,
) -> list[dict]:
    """Every bookable start of `event_type` with `person` on `day` (through `end_day`, a
    range of dates in tz_name): the person's availability slots minus their busy time from
    the free/busy query (entries, bookings, live holds, every registered source), with
    buffers, minimum notice, booking window and per-day limit. `time_of` is the person's
    PersonTime when the caller already has it (team slots ask once for everyone)."""
    now = now or timezone.now()
    host_tz = zoneinfo.ZoneInfo(person.tz_name)
    view_tz = zoneinfo.ZoneInfo(tz_name) if tz_name else host_tz
    range_start, range_end = _view_range(day, end_day or day, view_tz)
    length = timedelta(minutes=event_type.duration_minutes)
    if time_of is None:
        window = (range_start - timedelta(days=1), range_end + timedelta(days=1))
        exclude = [str(exclude_pk)] if exclude_pk is not None else ()
        time_of = free_busy(org=person.org, start=window[0], end=window[1], people=[person], exclude_refs=exclude)[
            person.pk
        ]
    earliest = (now + timedelta(minutes=event_type.minimum_notice_minutes)).timestamp()
    latest = (now + timedelta(days=event_type.booking_window_days)).timestamp()
    # Instants as POSIX seconds from here on: float comparisons are far cheaper than aware
    # datetimes'; each busy interval is read once, then each candidate costs two bisections.
    first_ts, end_ts = range_start.timestamp(), range_end.timestamp()
    before = event_type.buffer_before_minutes * 60.0
    occupied = length.total_seconds() + event_type.buffer_after_minutes * 60.0
    busy = _BusyIndex(
        time_of.busy,
        f"et:{event_type.pk}:",
        host_tz if event_type.per_day_limit is not None else None,
    )
    taken_per_day = busy.per_day
    own = busy.own
    overlapping = busy.overlapping
    capacity = event_type.capacity
    rules_key = _rules_key(time_of.rules)

    out, seen = [], set()
    # The host's local days that can hold a start inside the range (one day of margin).
    local_day = range_start.astimezone(host_tz).date() - timedelta(days=1)
    last_day = range_end.astimezone(host_tz).date()
    while local_day <= last_day:
        current, local_day = local_day, local_day + timedelta(days=1)
        if event_type.per_day_limit is not None and taken_per_day.get(current, 0) >= event_type.per_day_limit:
            continue
        for ts, start, end in _day_candidates(time_of.rules, rules_key, current, host_tz, length):
            if not (first_ts <= ts < end_ts) or ts < earliest or ts > latest or ts in seen:
                continue
            # this start's own seat group (bookings of this event type at this time): its
            # seats taken, and its intervals, which share the time and do not block it
            group = own.get(ts)
            seats = capacity - group[0] if group else capacity
            if seats > 0 and not overlapping(ts - before, ts + occupied, group):
                seen.add(ts)
                out.append({"start": start, "end": end, "seats_left": seats})
    out.sort(key=_START)
    return out


_START = itemgetter("start")

# A day's candidate starts depend only on the rules' values, the day, the zone and the
# length: kept per process under exactly that key (a changed rule is a new key, nothing to
# invalidate), so a month view does not expand 33 days of rules on every request.
_CANDIDATES: dict = {}
_CANDIDATES_MAX = 1024  # days (~9 kB each for 12 hours in 15-minute steps)
_RULE_FIELDS = attrgetter(
    "rule_kind",
    "start_time",
    "end_time",
    "valid_from",
    "valid_to",
    "is_closed",
    "slot_granularity_minutes",
    "slot_duration_minutes",
    "slot_capacity",
)


def _rules_key(rules) -> tuple | None:
    try:
        key = tuple((*_RULE_FIELDS(r), tuple(r.days_of_week or ())) for r in rules)
        hash(key)
    except TypeError:  # days_of_week is JSON: something unhashable is simply not cached
        return None
    return key


def _day_candidates(rules, rules_key, day: date, tz, length: timedelta) -> tuple:
    """The availability slots of one local day as (start in POSIX seconds, start, end)."""
    key = None if rules_key is None else (rules_key, day, tz.key, length)
    found = _CANDIDATES.get(key) if key is not None else None
    if found is None:
        found = tuple(
            (start.timestamp(), start, end) for start, end, _c, _r in expand_day(rules, day, tz, length=length)
        )
        if key is not None:
            if len(_CANDIDATES) >= _CANDIDATES_MAX:
                _CANDIDATES.clear()
            _CANDIDATES[key] = found
    return found


_BUSY_FIELDS = attrgetter("start", "end", "pad_before", "pad_after", "group")


class _BusyIndex:
    """A person's busy intervals as the slot checks read them, built in one pass: occupied
    starts and ends (POSIX seconds, the holder's buffers included) in two sorted lists, so
    the intervals overlapping a span are counted with two bisections; and the seat groups of
    one event type (`own_prefix` + a start's isoformat) keyed by that start in seconds, with
    their seats taken and occupied spans. A group whose time does not read back as the same
    UTC isoformat can never be a candidate's own group, so it only blocks. With `per_day_tz`,
    also the event type's bookings per local day there (for the per-day limit)."""

    __slots__ = ("starts", "ends", "own", "per_day")

    def __init__(self, busy, own_prefix: str, per_day_tz=None):
        rows = list(map(_BUSY_FIELDS, busy))
        pads = {}  # buffer timedelta → seconds, once per distinct value
        for _s, _e, before, after, _g in rows:
            if before not in pads:
                pads[before] = before.total_seconds()
            if after not in pads:
                pads[after] = after.total_seconds()
        starts = [start.timestamp() - pads[before] for start, _e, before, _a, _g in rows]
        ends = [end.timestamp() + pads[after] for _s, end, _b, after, _g in rows]
        groups: dict = {}
        per_day: dict = {}
        for n, (start, _e, _b, _a, group) in enumerate(rows):
            if group and group.startswith(own_prefix):
                entry = groups.get(group)
                if entry is None:
                    groups[group] = [1, [(starts[n], ends[n])]]
                else:
                    entry[0] += 1
                    entry[1].append((starts[n], ends[n]))
                if per_day_tz is not None:
                    local = start.astimezone(per_day_tz).date()
                    per_day[local] = per_day.get(local, 0) + 1
        starts.sort()
        ends.sort()
        self.starts, self.ends, self.per_day = starts, ends, per_day
        self.own = {}
        cut = len(own_prefix)
        for group, entry in groups.items():
            stamp = group[cut:]
            try:
                at = datetime.fromisoformat(stamp)
            except ValueError:
                continue
            if at.utcoffset() == ZERO and at.isoformat() == stamp:
                self.own[at.timestamp()] = entry

    def overlapping(self, lo: float, hi: float, group) -> bool:
        """Does any interval occupy part of [lo, hi), those of `group` (a start's own seat
        group, from `own`) aside? Every interval starting before `hi` overlaps unless it
        ended by `lo` (and those all started before `hi` too)."""
        n = bisect_left(self.starts, hi) - bisect_right(self.ends, lo)
        if n > 0 and group is not None:
            n -= sum(1 for s, e in group[1] if s < hi and e > lo)
        return n > 0


def host_is_free(*, event_type: EventType, person: Person, start_at, exclude_pk=None) -> bool:
    day = start_at.astimezone(zoneinfo.ZoneInfo(person.tz_name)).date()
    slots = host_slots(event_type=event_type, person=person, day=day, exclude_pk=exclude_pk)
    return any(s["start"] == start_at for s in slots)


def team_people(event_type: EventType) -> list[Person]:
    """The team's members in the rotation, with a schedulable, active profile."""
    return list(
        Person.objects.filter(
            membership__team_memberships__team_id=event_type.team_id,
            membership__team_memberships__active=True,
            membership__active=True,
            active=True,
        ).select_related("location", "org")
    )


def team_slots(
    *, event_type: EventType, day: date, end_day: date | None = None, tz_name: str | None = None
) -> list[dict]:
    """Union of the active team members' host slots on `day` (through `end_day`): one
    free/busy query for the whole team, whatever its size, range and bookings."""
    people = team_people(event_type)
    if not people:
        return []
    tz_name = tz_name or event_type.org.timezone
    range_start, range_end = _view_range(day, end_day or day, zoneinfo.ZoneInfo(tz_name))
    now = timezone.now()
    times = free_busy(
        org=event_type.org, start=range_start - timedelta(days=2), end=range_end + timedelta(days=2), people=people
    )
    merged: dict = {}
    for person in people:
        for slot in host_slots(
            event_type=event_type,
            person=person,
            day=day,
            end_day=end_day,
            tz_name=tz_name,
            time_of=times[person.pk],
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


def _with_live_holds(qs):
    """Slots with `live_hold`: holds not yet past their expiry. The `hold` counter still
    counts an expired hold until the minutely job (or the next hold on that slot) writes the
    expiry; reads derive capacity from what is live, so they never write."""
    now = timezone.now()
    live = (
        Booking.objects.filter(slot=OuterRef("pk"), status=Booking.Status.HELD, hold_expires_at__gt=now)
        .order_by()
        .values("slot")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(live_hold=Coalesce(Subquery(live, output_field=IntegerField()), 0))


def _available(qs):
    return _with_live_holds(qs).filter(
        status__in=[SlotInstance.Status.OPEN, SlotInstance.Status.PARTIAL, SlotInstance.Status.FULL],
        capacity__gt=F("booked") + F("live_hold"),
        start_at__gt=timezone.now(),
    )


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
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(location.timezone)).date()
    qs = _available(
        SlotInstance.objects.for_actor(actor).filter(
            location=location, date__gte=today, date__lt=today + timedelta(days=days)
        )
    )
    if person is not None:
        qs = qs.filter(person=person)
    rows = qs.values("date").annotate(available=Sum(F("capacity") - F("booked") - F("live_hold"))).order_by("date")
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
        qs = qs.filter(email_index=blind_index(filters["email"], kind="email"))
    return qs


def frontdesk_event_types(*, actor) -> list[EventType]:
    """The org's event types with their owner, place and the owner's availability rules
    (the frontdesk page lists them with their public links)."""
    return list(
        EventType.objects.for_actor(actor)
        .select_related("person__membership__user", "team", "location")
        .prefetch_related("person__rules")
        .order_by("title")
    )
