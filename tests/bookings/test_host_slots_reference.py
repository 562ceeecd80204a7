"""Host slots against a brute-force reference: every candidate start checked against every
busy interval, as the definition reads (seats = capacity minus the intervals of the start's
own seat group; blocked by any other interval whose occupied time, buffers included, meets
the candidate's). Random busy time over two weeks (overlaps, holds' seat groups, other event
types' groups, groups written with a non-UTC offset, zero-length and long intervals), DST
included; and the same through the database (bookings and the free/busy query)."""

import random
import uuid
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest

from apps.bookings.models import Booking, EventType
from apps.bookings.selectors import _view_range, host_slots
from apps.scheduling.availability import expand_day
from apps.scheduling.freebusy import Interval, PersonTime, free_busy
from apps.scheduling.models import AvailabilityRule, Person
from tests.bookings.factories import make_event_type
from tests.scheduling.factories import make_location, make_person, make_rule

BERLIN = "Europe/Berlin"
START_DAY = date(2026, 10, 20)  # the range crosses the end of summer time (25 October)


def reference_slots(*, event_type, person, day, end_day, tz_name, time_of, now) -> list[dict]:
    host_tz = zoneinfo.ZoneInfo(person.tz_name)
    range_start, range_end = _view_range(day, end_day, zoneinfo.ZoneInfo(tz_name or person.tz_name))
    before = timedelta(minutes=event_type.buffer_before_minutes)
    after = timedelta(minutes=event_type.buffer_after_minutes)
    length = timedelta(minutes=event_type.duration_minutes)
    earliest = now + timedelta(minutes=event_type.minimum_notice_minutes)
    latest = now + timedelta(days=event_type.booking_window_days)
    prefix = f"et:{event_type.pk}:"
    out, seen = [], set()
    local_day = range_start.astimezone(host_tz).date() - timedelta(days=1)
    while local_day <= range_end.astimezone(host_tz).date():
        current, local_day = local_day, local_day + timedelta(days=1)
        taken_today = sum(
            1 for i in time_of.busy if i.group.startswith(prefix) and i.start.astimezone(host_tz).date() == current
        )
        if event_type.per_day_limit is not None and taken_today >= event_type.per_day_limit:
            continue
        for start, end, _capacity, _rule in expand_day(time_of.rules, current, host_tz, length=length):
            if not (range_start <= start < range_end) or start < earliest or start > latest or start in seen:
                continue
            group = f"{prefix}{start.isoformat()}"
            seats = event_type.capacity - sum(1 for i in time_of.busy if i.group == group)
            blocked = any(
                i.group != group and i.occupied_start < end + after and i.occupied_end > start - before
                for i in time_of.busy
            )
            if seats > 0 and not blocked:
                seen.add(start)
                out.append({"start": start, "end": end, "seats_left": seats})
    return sorted(out, key=lambda s: s["start"])


def _random_busy(rng: random.Random, event_type, first: datetime, n: int) -> list[Interval]:
    other = f"et:{uuid.uuid4()}:"
    busy = []
    for _ in range(n):
        start = first + timedelta(minutes=15 * rng.randrange(0, 14 * 24 * 4))
        kind = rng.random()
        if kind < 0.5:  # this event type at a start (several seats may share it)
            minutes, group = event_type.duration_minutes, f"et:{event_type.pk}:{start.isoformat()}"
        elif kind < 0.6:  # the same time written with an offset: never a candidate's own group
            minutes = event_type.duration_minutes
            group = f"et:{event_type.pk}:{start.astimezone(zoneinfo.ZoneInfo(BERLIN)).isoformat()}"
        elif kind < 0.75:
            minutes, group = rng.choice([20, 45, 60]), f"{other}{start.isoformat()}"
        elif kind < 0.85:
            minutes, group = 30, f"slot:{uuid.uuid4()}"
        elif kind < 0.95:
            minutes, group = rng.choice([0, 10, 90, 600]), ""  # entries, calendar blocks
        else:
            minutes, group = rng.choice([24 * 60, 36 * 60]), ""
        busy.append(
            Interval(
                start,
                start + timedelta(minutes=minutes),
                "booking" if group else "entry",
                group=group,
                pad_before=timedelta(minutes=rng.choice([0, 0, 5, 15])),
                pad_after=timedelta(minutes=rng.choice([0, 10, 15, 30])),
            )
        )
    busy.sort(key=lambda i: i.start)
    return busy


@pytest.mark.parametrize("seed", range(12))
def test_host_slots_match_the_brute_force_reference(seed):
    rng = random.Random(seed)
    person = Person(id=uuid.uuid4(), timezone=BERLIN, name="Host")
    event_type = EventType(
        id=uuid.uuid4(),
        slug="ref",
        title="Ref",
        duration_minutes=rng.choice([15, 30, 45]),
        capacity=rng.choice([1, 2, 3]),
        buffer_before_minutes=rng.choice([0, 10]),
        buffer_after_minutes=rng.choice([0, 15]),
        minimum_notice_minutes=rng.choice([0, 60 * 30]),
        booking_window_days=rng.choice([8, 90]),
        per_day_limit=rng.choice([None, None, 3, 6]),
    )
    rules = [
        AvailabilityRule(
            rule_kind="WEEKLY",
            days_of_week=[1, 2, 3, 4, 5],
            start_time=time(8),
            end_time=time(18),
            slot_granularity_minutes=rng.choice([15, 30]),
        ),
        AvailabilityRule(
            rule_kind="WEEKLY", days_of_week=[6], start_time=time(10), end_time=time(13), slot_granularity_minutes=20
        ),
        AvailabilityRule(
            rule_kind="EXCEPTION",
            valid_from=START_DAY + timedelta(days=2),
            start_time=time(12),
            end_time=time(13, 30),
            is_closed=True,
        ),
    ]
    first = datetime.combine(START_DAY, time(6), tzinfo=UTC)
    busy = _random_busy(rng, event_type, first, rng.choice([0, 40, 300]))
    time_of = PersonTime(person=person, start=first, end=first + timedelta(days=16), rules=rules, busy=busy, on_call=[])
    now = datetime.combine(START_DAY, time(9, 7), tzinfo=UTC)
    for tz_name in (None, "America/New_York"):
        for day, end_day in ((START_DAY, START_DAY + timedelta(days=13)), (START_DAY + timedelta(days=5), None)):
            kwargs = dict(event_type=event_type, person=person, day=day, tz_name=tz_name, time_of=time_of, now=now)
            got = host_slots(end_day=end_day, **kwargs)
            assert got == reference_slots(end_day=end_day or day, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_host_slots_from_the_database_match_the_reference(org):
    rng = random.Random(7)
    location = make_location(org, tz=BERLIN)
    person = make_person(org, location, username="ref-host")
    make_rule(location, person, start_time=time(8), end_time=time(18), slot_granularity_minutes=15)
    event_type = make_event_type(org, person, slug="ref", capacity=3, buffer_after_minutes=15)
    other_type = make_event_type(org, person, slug="other", duration_minutes=60, buffer_before_minutes=10)
    day = date.today() + timedelta(days=2)
    first = datetime.combine(day, time(6), tzinfo=UTC)
    for n in range(120):
        start = first + timedelta(minutes=15 * rng.randrange(0, 6 * 24 * 4))
        kind = rng.choice([event_type, event_type, other_type])
        status = rng.choice(["confirmed", "confirmed", "held", "pending", "cancelled"])
        fields = dict(
            org=org,
            event_type=kind,
            person=person,
            start_at=start,
            attendee_name=f"g{n}",
            status=status,
            end_at=start + timedelta(minutes=kind.duration_minutes),
            seat_group=f"et:{kind.pk}:{start.isoformat()}",
            hold_expires_at=(datetime.now(UTC) + timedelta(minutes=rng.choice([-5, 10]))) if status == "held" else None,
        )
        if (
            not Booking.objects.filter(  # the database refuses overlaps outside one seat group
                person=person,
                status__in=["held", "pending", "confirmed"],
                start_at__lt=fields["end_at"],
                end_at__gt=start,
            )
            .exclude(seat_group=fields["seat_group"])
            .exists()
        ):
            Booking.objects.create(**fields)
    person = Person.objects.select_related("location", "org").get(pk=person.pk)
    now = datetime.now(UTC)
    for end_day in (None, day + timedelta(days=4)):
        got = host_slots(event_type=event_type, person=person, day=day, end_day=end_day, now=now)
        start, end = _view_range(day, end_day or day, zoneinfo.ZoneInfo(BERLIN))
        time_of = free_busy(org=org, start=start - timedelta(days=1), end=end + timedelta(days=1), people=[person])
        expected = reference_slots(
            event_type=event_type,
            person=person,
            day=day,
            end_day=end_day or day,
            tz_name=None,
            time_of=time_of[person.pk],
            now=now,
        )
        assert got == expected
        assert got  # the data leaves some slots


def test_a_changed_rule_is_seen_at_once():
    """The per-process candidate cache is keyed by the rules' values: nothing to invalidate."""
    person = Person(id=uuid.uuid4(), timezone=BERLIN, name="Host")
    event_type = EventType(id=uuid.uuid4(), slug="c", title="C", duration_minutes=30, capacity=1)
    rule = AvailabilityRule(
        rule_kind="WEEKLY", days_of_week=[1, 2, 3, 4, 5, 6, 7], start_time=time(9), end_time=time(12)
    )
    first = datetime.combine(START_DAY, time(0), tzinfo=UTC)
    time_of = PersonTime(person=person, start=first, end=first + timedelta(days=3), rules=[rule], busy=[], on_call=[])
    now = datetime.combine(START_DAY - timedelta(days=1), time(9), tzinfo=UTC)
    kwargs = dict(event_type=event_type, person=person, day=START_DAY, tz_name=None, time_of=time_of, now=now)
    for change in (
        {},
        {"end_time": time(10)},
        {"slot_granularity_minutes": 30},
        {"days_of_week": [1]},
        {"is_closed": True, "rule_kind": "EXCEPTION", "valid_from": START_DAY},
    ):
        for name, value in change.items():
            setattr(rule, name, value)
        assert host_slots(end_day=None, **kwargs) == reference_slots(end_day=START_DAY, **kwargs)
