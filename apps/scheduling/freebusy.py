"""The one answer to "who is free, where, from when to when".

`free_busy()` gives, for a set of people and a window, their busy intervals (concrete and
recurring `work` entries, plus every registered busy source: bookings and live holds,
external calendars, …), their availability windows (rules, and `on_call` entries that put
them on duty) and the free windows that remain. `busy_by_membership()` is the same busy
time keyed by membership, for entries whose assignees need no schedulable profile.

Other apps add busy time by registering a source in their `AppConfig.ready()` (as
`apps.events.delivery` takes delivery handlers), so this module imports no booking or
calendar code. A source is `fn(*, org, people, start, end) -> {person_id: [Interval]}`,
registered `cacheable` when it changes only with writes that bump the org's time version.

Query count is independent of the number of people: people (unless given), rules, the
entry masters with their assignees and overrides, and one query per registered source
(bookings with live holds, external calendars). The stable part — rules, entries and the
cacheable sources — is kept per process under the org's time version (a token in the shared
cache that every writer of time data replaces after commit: `time_version`), so a repeated
read is one cache GET plus the people (unless given) and the live holds query; `fresh=True`,
a person-time lock or the transaction's own writes read everything from the database."""

import functools
import zoneinfo
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from operator import attrgetter
from types import SimpleNamespace

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from apps.scheduling import recurrence, time_version
from apps.scheduling.availability import day_windows
from apps.scheduling.models import (
    MAX_DURATION,
    AvailabilityRule,
    EntryKind,
    Person,
    ScheduleEntry,
    ScheduleOverride,
    Status,
)
from schedkit.cache import BoundedLRU
from schedkit.db import id_set

ZERO = timedelta(0)
_BY_START = attrgetter("start", "ref")  # the order of every interval list (a C key: no lambda call)

BusySource = Callable[..., dict]
_SOURCES: dict[str, BusySource] = {}
_CACHEABLE: set[str] = set()
_LIVE: dict[str, tuple[BusySource, str]] = {}  # cacheable source -> (its live part, that part's kind)


def register_busy_source(
    name: str, fn: BusySource, *, cacheable: bool = False, live: BusySource | None = None, live_kind: str = ""
) -> None:
    """Add busy time from another app (idempotent per name: a reload replaces it).
    `cacheable`: the source's answer changes only with writes that bump the org's time
    version (`apps.scheduling.time_version.bump`, or rows of a `watch`ed model), so it may
    be kept under the token; a source that changes with the clock is not, and is read on
    every call. A cacheable source may hold such a part too: `live` reads that part alone,
    and `fn`'s intervals of source `live_kind` are it (so the first read of a new token is
    still one query: `fn`'s, split; a repeated read is `live`'s)."""
    _SOURCES[name] = fn
    _LIVE.pop(name, None)
    if cacheable:
        _CACHEABLE.add(name)
        if live is not None:
            _LIVE[name] = (live, live_kind)
    else:
        _CACHEABLE.discard(name)


def busy_sources() -> tuple[str, ...]:
    return ("entry", *_SOURCES)


@dataclass(frozen=True, init=False)
class Interval:
    start: datetime
    end: datetime
    source: str  # "entry", "on_call", "availability", or a registered source's kind ("booking", "hold", …)
    ref: str = ""  # what occupies the time: an entry instance id, a booking id, …
    parent: str = ""  # the series or owner of `ref` (an entry's master id)
    title: str = ""
    status: str = ""
    group: str = ""  # intervals sharing a seat group (several seats of one time) do not block each other
    pad_before: timedelta = ZERO  # buffers the holder occupies around itself
    pad_after: timedelta = ZERO

    def __init__(
        self,
        start: datetime,
        end: datetime,
        source: str,
        ref: str = "",
        parent: str = "",
        title: str = "",
        status: str = "",
        group: str = "",
        pad_before: timedelta = ZERO,
        pad_after: timedelta = ZERO,
    ):
        # One dict update instead of the frozen dataclass's ten object.__setattr__ calls: a
        # week of 50 people builds thousands of these (3x cheaper; still frozen to writes).
        self.__dict__.update(
            start=start,
            end=end,
            source=source,
            ref=ref,
            parent=parent,
            title=title,
            status=status,
            group=group,
            pad_before=pad_before,
            pad_after=pad_after,
        )

    @property
    def occupied_start(self) -> datetime:
        return self.start - self.pad_before

    @property
    def occupied_end(self) -> datetime:
        return self.end + self.pad_after

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.occupied_start < end and self.occupied_end > start


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out = []
    last_start = last_end = None
    for start, end in sorted(intervals):
        if last_end is not None and start <= last_end:
            if end > last_end:
                last_end = end
            continue
        if last_end is not None:
            out.append((last_start, last_end))
        last_start, last_end = start, end
    if last_end is not None:
        out.append((last_start, last_end))
    return out


def _subtract(windows: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]):
    """Merged, sorted `windows` less merged, sorted `holes`, in one pass over both (a hole
    may reach into the next window, so each window starts from the first hole not before it)."""
    out = []
    first, count = 0, len(holes)
    for start, end in windows:
        while first < count and holes[first][1] <= start:
            first += 1
        cursor = start
        at = first
        while at < count:
            h_start, h_end = holes[at]
            if h_start >= end:
                break
            if h_start > cursor:
                out.append((cursor, h_start))
            if h_end > cursor:
                cursor = h_end
            if cursor >= end:
                break
            at += 1
        if cursor < end:
            out.append((cursor, end))
    return out


# Every field of a rule, for a key that changes with any of them (see `_available`).
_RULE_FIELDS = tuple(f.attname for f in AvailabilityRule._meta.concrete_fields)


class _Rules:
    """A person's effective rules as a cache key: equal when every field of every rule is."""

    __slots__ = ("rules", "key", "_hash")

    def __init__(self, rules: list[AvailabilityRule]):
        self.rules = rules
        self.key = tuple(
            tuple(tuple(v) if isinstance(v, list) else v for v in (getattr(r, name) for name in _RULE_FIELDS))
            for r in rules
        )
        self._hash = hash(self.key)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _Rules) and self.key == other.key


@functools.lru_cache(maxsize=4_096)
def _available(tz_name: str, start: datetime, end: datetime, zones: tuple, rules: _Rules) -> tuple:
    """`PersonTime.available` of these rules, zone and window (`zones`: the window bounds'
    tzinfos, which clipped windows keep). Keyed by values only, as the expansion cache of
    `recurrence`: a changed rule is a new key, so the next call sees it."""
    tz = zoneinfo.ZoneInfo(tz_name)
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    opened, closed = [], []
    while day <= last:
        windows, shut = day_windows(rules.rules, day, tz)
        opened += [(s, e) for s, e, _rule in windows]
        closed += shut
        day += timedelta(days=1)
    spans = _subtract(_merge(opened), _merge(closed))
    return tuple(Interval(max(s, start), min(e, end), "availability") for s, e in spans if s < end and e > start)


@dataclass
class PersonTime:
    person: Person
    start: datetime
    end: datetime
    rules: list[AvailabilityRule]  # the person's effective rules (their own, else their location's)
    busy: list[Interval] = field(default_factory=list)
    on_call: list[Interval] = field(default_factory=list)

    @cached_property
    def available(self) -> list[Interval]:
        """Availability-rule windows inside the window, in the person's own zone (DST-true)."""
        if not self.rules:
            return []  # (on-call people without rules: a ranking asks hundreds)
        zones = (self.start.tzinfo, self.end.tzinfo)
        return list(_available(self.person.tz_name, self.start, self.end, zones, _Rules(self.rules)))

    @cached_property
    def free(self) -> list[Interval]:
        """(availability ∪ on-call) minus busy time (with the holders' buffers)."""
        duty = _merge([(i.start, i.end) for i in self.available] + [(i.start, i.end) for i in self.on_call])
        holes = _merge(
            [
                (i.start - i.pad_before, i.end + i.pad_after) if i.pad_before or i.pad_after else (i.start, i.end)
                for i in self.busy
            ]
        )
        return [Interval(s, e, "free") for s, e in _subtract(duty, holes)]

    def is_free(self, start: datetime, end: datetime) -> bool:
        return any(i.start <= start and end <= i.end for i in self.free)

    def is_busy(self, start: datetime, end: datetime, *, group: str = "") -> bool:
        return any(i.overlaps(start, end) and not (group and i.group == group) for i in self.busy)

    def busy_at(self, at: datetime) -> list[Interval]:
        return [i for i in self.busy if i.occupied_start <= at < i.occupied_end]

    def on_duty(self, at: datetime) -> bool:
        return any(i.start <= at < i.end for i in self.available) or any(i.start <= at < i.end for i in self.on_call)


def _instant(value) -> datetime | None:
    """An instant as a row brings it: epoch seconds (PostgreSQL) or a datetime (elsewhere)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value, UTC)


# The masters that may reach the window (`ScheduleEntry.objects.overlapping`'s criterion)
# with an assignment of a wanted person, on the series or on one of its overrides; each with
# its wanted assignees and its overrides near the window (with theirs, as json) in the row.
# One statement of hash joins (correlated subqueries per master were 3x slower), instants as
# epoch seconds (`date_part`: a float8, where `extract` makes a numeric), ids as text, the
# people one array parameter.
_ENTRIES, _OVERRIDES = ScheduleEntry._meta.db_table, ScheduleOverride._meta.db_table
_ASSIGNED = ScheduleEntry.assignees.through._meta.db_table
_OVERRIDE_ASSIGNED = ScheduleOverride.assignees.through._meta.db_table
_ENTRY_SQL = f"""
WITH m AS MATERIALIZED (
  SELECT e.id, e.start, e."end", e.rrule, e.timezone, e.series_end, e.status, e.kind, e.title
    FROM {_ENTRIES} e
   WHERE e.org_id = %(org)s
     AND ((e.rrule = '' AND e.start < %(end)s AND e."end" > %(start)s)
          OR (e.rrule <> '' AND e.start < %(end)s AND (e.series_end IS NULL OR e.series_end > %(start)s))
          OR EXISTS (SELECT 1 FROM {_OVERRIDES} x
                      WHERE x.master_id = e.id AND NOT x.cancelled AND x.start < %(end)s AND x."end" > %(start)s))
), mine AS (
  SELECT a.scheduleentry_id AS id, array_agg(a.membership_id::text) AS keys
    FROM {_ASSIGNED} a JOIN m ON m.id = a.scheduleentry_id
   WHERE a.membership_id = ANY(%(wanted)s::uuid[]) GROUP BY 1
), o AS (
  SELECT o.id, o.master_id, o.original_start, o.cancelled, o.start, o."end", o.status, o.title
    FROM {_OVERRIDES} o JOIN m ON m.id = o.master_id
   WHERE (o.original_start >= %(near)s AND o.original_start < %(end)s)
      OR (NOT o.cancelled AND o.start < %(end)s AND o."end" > %(start)s)
), theirs AS (
  SELECT oa.scheduleoverride_id AS id, array_agg(oa.membership_id::text) AS keys
    FROM {_OVERRIDE_ASSIGNED} oa JOIN o ON o.id = oa.scheduleoverride_id
   WHERE oa.membership_id = ANY(%(wanted)s::uuid[]) GROUP BY 1
), near AS (
  SELECT o.master_id AS id, json_agg(json_build_array(
           date_part('epoch', o.original_start), o.cancelled, date_part('epoch', o.start),
           date_part('epoch', o."end"), o.status, o.title, coalesce(theirs.keys, '{{}}'))) AS overrides
    FROM o LEFT JOIN theirs ON theirs.id = o.id GROUP BY 1
)
SELECT m.id::text, date_part('epoch', m.start), date_part('epoch', m."end"), m.rrule, m.timezone,
       date_part('epoch', m.series_end), m.status, m.kind, m.title, coalesce(mine.keys, '{{}}'), near.overrides
  FROM m LEFT JOIN mine ON mine.id = m.id LEFT JOIN near ON near.id = m.id
 WHERE mine.id IS NOT NULL
    OR EXISTS (SELECT 1 FROM {_OVERRIDE_ASSIGNED} oa
                 JOIN {_OVERRIDES} x ON x.id = oa.scheduleoverride_id
                WHERE x.master_id = m.id AND oa.membership_id = ANY(%(wanted)s::uuid[]))
"""


def _entry_rows(*, org, start, end, wanted: Collection) -> list:
    """The masters that may reach the window for these people, as plain rows (no model
    instances: a week of 50 busy people is a thousand masters): (id, start, end, rrule,
    timezone, series_end, status, kind, title, wanted assignee ids, overrides), each override
    (original_start, cancelled, start, end, status, title, wanted assignee ids), ids as str,
    instants as `_instant` reads them. On PostgreSQL one hand-written statement (no ORM
    building or compiling per call, nothing parsed in Python); elsewhere four ORM queries."""
    if connection.vendor != "postgresql":
        return _entry_rows_orm(org=org, start=start, end=end, wanted=wanted)
    params = {
        "org": org.pk,
        "start": start,
        "end": end,
        "near": start - MAX_DURATION,
        "wanted": "{" + ",".join(str(w) for w in wanted) + "}",
    }
    with connection.cursor() as cursor:
        cursor.execute(_ENTRY_SQL, params)
        return cursor.fetchall()


def _entry_rows_orm(*, org, start, end, wanted: Collection) -> list:
    """`_entry_rows` through the ORM: four queries whose size does not depend on how many
    masters there are (no id lists), and only the wanted people's assignments."""
    wanted = id_set(wanted)
    through = ScheduleEntry.assignees.through.objects
    override_through = ScheduleOverride.assignees.through.objects
    mine = through.filter(scheduleentry_id=OuterRef("pk"), membership_id__in=wanted)
    moved_to_me = override_through.filter(scheduleoverride__master_id=OuterRef("pk"), membership_id__in=wanted)
    masters_qs = ScheduleEntry.objects.filter(org=org).overlapping(start, end)
    rows = list(
        masters_qs.filter(Exists(mine) | Exists(moved_to_me))
        .order_by()
        .values_list("id", "start", "end", "rrule", "timezone", "series_end", "status", "kind", "title")
    )
    if not rows:
        return []
    assignees: dict = {}
    for entry_id, membership_id in through.filter(
        membership_id__in=wanted, scheduleentry__in=masters_qs.order_by().values("pk")
    ).values_list("scheduleentry_id", "membership_id"):
        assignees.setdefault(str(entry_id), []).append(str(membership_id))
    # Overrides near the window of the masters these people may meet (the masters' own
    # criterion, without the window: a row whose master is not in `rows` is never read).
    near = Q(original_start__gte=start - MAX_DURATION, original_start__lt=end) | Q(
        cancelled=False, start__lt=end, end__gt=start
    )
    mine_master = through.filter(scheduleentry_id=OuterRef("master_id"), membership_id__in=wanted)
    moved_master = override_through.filter(scheduleoverride__master_id=OuterRef("master_id"), membership_id__in=wanted)
    overrides_qs = ScheduleOverride.objects.filter(near, master__org=org).filter(
        Exists(mine_master) | Exists(moved_master)
    )
    override_keys: dict = {}
    for override_id, membership_id in override_through.filter(
        membership_id__in=wanted, scheduleoverride__in=overrides_qs.order_by().values("pk")
    ).values_list("scheduleoverride_id", "membership_id"):
        override_keys.setdefault(override_id, []).append(str(membership_id))
    overrides: dict = {}
    for pk, master_id, *values in overrides_qs.order_by().values_list(
        "id", "master_id", "original_start", "cancelled", "start", "end", "status", "title"
    ):
        overrides.setdefault(str(master_id), []).append((*values, override_keys.get(pk, [])))
    return [(str(pk), *values, assignees.get(str(pk), []), overrides.get(str(pk))) for pk, *values in rows]


@functools.lru_cache(maxsize=10_000)
def _master_intervals(master: tuple, overrides: tuple, window_start: datetime, window_end: datetime) -> tuple:
    """The busy or on-duty intervals of one master's occurrences in the window, each with the
    position of the override that made it (-1: a plain occurrence, the series' assignees):
    (Interval, position) pairs, cancelled ones left out. Keyed by the row's values (every
    value the result depends on, as `_entry_rows` read them this call): a write changes the
    key, so the next call sees it; an `Interval` is frozen, so calls share them safely."""
    pk, m_start, m_end, rrule, zone, series_end, status, kind, title = master
    row = SimpleNamespace(
        pk=pk,
        start=_instant(m_start),
        end=_instant(m_end),
        rrule=rrule,
        timezone=zone,
        series_end=_instant(series_end),
        notes="",
    )
    exceptions = [
        SimpleNamespace(
            original_start=_instant(original),
            cancelled=cancelled,
            start=_instant(o_start),
            end=_instant(o_end),
            status=o_status,
            title=o_title,
            notes="",
            position=position,
        )
        for position, (original, cancelled, o_start, o_end, o_status, o_title) in enumerate(overrides)
    ]
    source = "on_call" if kind == EntryKind.ON_CALL else "entry"
    found = []
    for ident, _original, i_start, i_end, override in recurrence.spans(row, exceptions, window_start, window_end):
        if override is None:
            i_title, i_status, position = title, status, -1
        else:
            i_title, i_status, position = override.title or title, override.status or status, override.position
        if i_status != Status.CANCELLED:
            found.append((Interval(i_start, i_end, source, ident, pk, i_title, i_status), position))
    return tuple(found)


def _entry_time(*, org, start, end, membership_ids, exclude_refs) -> tuple[dict, dict]:
    """Busy (`work`) and on-duty (`on_call`) entry instances per membership id (str)."""
    busy: dict[str, list[Interval]] = {}
    on_call: dict[str, list[Interval]] = {}
    if not membership_ids:
        return busy, on_call
    on_call_kind = EntryKind.ON_CALL
    for *master, keys, overrides in _entry_rows(org=org, start=start, end=end, wanted=list(membership_ids)):
        if not keys and not overrides:
            continue  # none of these people on it (it is here for an override moved away)
        if master[0] in exclude_refs:
            continue
        target = on_call if master[7] == on_call_kind else busy
        overrides = overrides or ()
        pieces = _master_intervals(tuple(master), tuple(tuple(o[:6]) for o in overrides), start, end)
        for interval, position in pieces:
            who = keys if position < 0 else overrides[position][6]
            if not who or interval.ref in exclude_refs:
                continue
            for key in who:
                bucket = target.get(key)
                if bucket is None:
                    target[key] = [interval]
                else:
                    bucket.append(interval)
    return busy, on_call


def _add(found: dict, person_id, intervals, exclude_refs) -> None:
    if exclude_refs:
        intervals = [i for i in intervals if i.ref not in exclude_refs and i.parent not in exclude_refs]
    bucket = found.get(person_id)
    if bucket is None:
        found[person_id] = list(intervals)
    else:
        bucket.extend(intervals)


def _source_time(*, org, people: list[Person], start, end, exclude_refs, sources) -> dict:
    """{person id: [Interval]} of every registered source, read now."""
    found: dict = {}
    for name, fn in _SOURCES.items():
        if sources is not None and name not in sources:
            continue
        for person_id, intervals in fn(org=org, people=people, start=start, end=end).items():
            _add(found, person_id, intervals, exclude_refs)
    return found


def _split_source_time(*, org, people, start, end, exclude_refs, sources) -> tuple[dict, dict]:
    """The registered sources read now, as (what may be kept, what must be read every call)."""
    stable: dict = {}
    live: dict = {}
    for name, fn in _SOURCES.items():
        if sources is not None and name not in sources:
            continue
        answer = fn(org=org, people=people, start=start, end=end)
        if name not in _CACHEABLE:
            for person_id, intervals in answer.items():
                _add(live, person_id, intervals, exclude_refs)
            continue
        live_kind = _LIVE[name][1] if name in _LIVE else None
        for person_id, intervals in answer.items():
            if live_kind is not None and any(i.source == live_kind for i in intervals):
                _add(live, person_id, [i for i in intervals if i.source == live_kind], exclude_refs)
                intervals = [i for i in intervals if i.source != live_kind]
            _add(stable, person_id, intervals, exclude_refs)
    return stable, live


def _live_time(*, org, people, start, end, exclude_refs, sources) -> dict:
    """What a repeated read asks every call: the sources that are not cacheable, and the
    live parts of those that are."""
    found: dict = {}
    for name, fn in _SOURCES.items():
        if sources is not None and name not in sources:
            continue
        if name in _CACHEABLE:
            if name not in _LIVE:
                continue
            fn = _LIVE[name][0]
        for person_id, intervals in fn(org=org, people=people, start=start, end=end).items():
            _add(found, person_id, intervals, exclude_refs)
    return found


def _effective_rules(people: list[Person]) -> dict:
    location_ids = {p.location_id for p in people if p.location_id}
    rules = list(
        AvailabilityRule.objects.filter(
            Q(person__in=id_set(p.pk for p in people)) | Q(person__isnull=True, location_id__in=location_ids)
        )
    )
    own: dict = {}
    shared: dict = {}
    for rule in rules:
        if rule.person_id:
            own.setdefault(rule.person_id, []).append(rule)
        else:
            shared.setdefault(rule.location_id, []).append(rule)
    return {p.pk: own.get(p.pk) or shared.get(p.location_id, []) for p in people}


def _people(org, people) -> list[Person]:
    if people is None:
        qs = Person.objects.filter(org=org, active=True, membership__active=True)
        return list(qs.select_related("location", "org", "membership"))
    people = list(people)
    if all(isinstance(p, Person) for p in people):
        return people
    ids = [p.pk if isinstance(p, Person) else p for p in people]
    return list(Person.objects.filter(org=org, pk__in=ids).select_related("location", "org", "membership"))


# The stable part of recent answers in this process (see `free_busy`): per answer, per person,
# (rules, busy, on_call) as tuples. Keyed by the org's time version, so a write (which
# replaces the token) makes every entry of the org unreachable; the TTL is a safety net for a
# bump that did not reach the shared cache.
STABLE_TTL_SECONDS = 60
_STABLE = BoundedLRU(128, ttl=STABLE_TTL_SECONDS)  # bounded by count, not size: a 50-person week is ~7,000 intervals
_NOTHING = ((), (), ())


def _read(*, org, people, start, end, exclude, sources, with_rules, split: bool) -> tuple[dict, dict]:
    """Everything from the database: ({person id: (rules, busy, on_call)}, {person id: live
    busy}). `split`: the live intervals apart (the first part is then what may be kept);
    otherwise all busy time is in the first part. Busy and on-call sorted."""
    rules = _effective_rules(people) if with_rules else {}
    want_entries = sources is None or "entry" in sources or "on_call" in sources
    entry_busy, entry_on_call = (
        _entry_time(
            org=org, start=start, end=end, membership_ids=[p.membership_id for p in people], exclude_refs=exclude
        )
        if want_entries
        else ({}, {})
    )
    asked = {"org": org, "people": people, "start": start, "end": end, "exclude_refs": exclude, "sources": sources}
    if split:
        other, live = _split_source_time(**asked)
    else:
        other, live = _source_time(**asked), {}
    out = {}
    for person in people:
        key = str(person.membership_id)
        busy = entry_busy.get(key, []) + other.get(person.pk, [])
        busy.sort(key=_BY_START)
        on_call = entry_on_call.get(key)
        if on_call:
            on_call.sort(key=_BY_START)
        out[person.pk] = (tuple(rules.get(person.pk, ())), tuple(busy), tuple(on_call or ()))
    return out, live


def _use_cache(org, fresh: bool) -> bool:
    return not fresh and settings.FREEBUSY_CACHE and not time_version.read_fresh(org.pk)


def free_busy(
    *,
    org,
    start: datetime,
    end: datetime,
    people=None,
    exclude_refs: Collection[str] = (),
    sources: Collection[str] | None = None,
    with_rules: bool = True,
    fresh: bool = False,
) -> dict:
    """{person_id: PersonTime} for `people` (Person rows or ids; None = the org's active
    people) over [start, end). `exclude_refs` drops intervals of the named things (a booking
    being moved, an entry being replaced); `sources` restricts the busy sources
    ("entry" and registered names).

    The stable part (rules, entries, cacheable sources) is kept in the process under the
    org's time version (apps.scheduling.time_version): a repeated read is one cache GET plus
    the live sources (holds). `fresh=True` reads everything from the database: every check
    under a person-time lock passes it (and reads fresh anyway once the lock is taken, as
    does a transaction that has written the org's time data). The lists of a PersonTime are
    the caller's own; the intervals and rules in them are shared: do not modify them."""
    people = _people(org, people)
    if not people:
        return {}
    exclude = frozenset(str(r) for r in exclude_refs)
    token = time_version.token(org.pk) if _use_cache(org, fresh) else None
    if token is not None:
        key = (
            org.pk,
            token,
            start,
            end,
            frozenset((p.pk, p.membership_id, p.location_id) for p in people),
            None if sources is None else frozenset(sources),
            exclude,
            with_rules,
        )
        asked = {"org": org, "people": people, "start": start, "end": end, "exclude": exclude, "sources": sources}
        stable = _STABLE.get(key)
        if stable is None:
            stable, live = _read(**asked, with_rules=with_rules, split=True)
            _STABLE.put(key, stable)
        else:
            live = _live_time(org=org, people=people, start=start, end=end, exclude_refs=exclude, sources=sources)
    else:
        stable, live = _read(
            org=org, people=people, start=start, end=end, exclude=exclude, sources=sources, with_rules=with_rules,
            split=False,
        )  # fmt: skip
    out = {}
    for person in people:
        rules, busy, on_call = stable.get(person.pk, _NOTHING)
        extra = live.get(person.pk)
        if extra:
            busy = [*busy, *extra]
            busy.sort(key=_BY_START)
        else:
            busy = list(busy)
        out[person.pk] = PersonTime(
            person=person, start=start, end=end, rules=list(rules), busy=busy, on_call=list(on_call)
        )
    return out


def busy_by_membership(
    *, org, start: datetime, end: datetime, membership_ids, exclude_refs: Collection[str] = ()
) -> dict[str, list[Interval]]:
    """Busy intervals per membership id (str), for memberships with or without a schedulable
    profile: their `work` entries, and every registered source for those who have one."""
    wanted = {str(m) for m in membership_ids}
    if not wanted:
        return {}
    exclude = {str(r) for r in exclude_refs}
    busy, _on_call = _entry_time(org=org, start=start, end=end, membership_ids=wanted, exclude_refs=exclude)
    people = list(Person.objects.filter(org=org, membership_id__in=id_set(wanted)).select_related("location", "org"))
    if people:
        other = _source_time(org=org, people=people, start=start, end=end, exclude_refs=exclude, sources=None)
        for person in people:
            if other.get(person.pk):
                busy.setdefault(str(person.membership_id), []).extend(other[person.pk])
    for intervals in busy.values():
        intervals.sort(key=_BY_START)
    return busy
