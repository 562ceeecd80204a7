"""The free/busy query against a brute-force reference on random data: recurring entries
(RRULE, expanded here independently with dateutil in the entry's zone), cancelled and moved
occurrences, on-call shifts, bookings, live and expired holds, weekly availability with a
closed exception — over three weeks that hold both DST switches (America/New_York on
2027-03-14, Europe/Berlin on 2027-03-28). Every 15-minute instant is compared."""

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.bookings.models import Booking
from apps.scheduling import freebusy, services
from apps.scheduling.models import AvailabilityRule, Person, ScheduleOverride
from tests.scheduling.factories import make_location, make_person

pytestmark = pytest.mark.django_db(transaction=True)
UTC = ZoneInfo("UTC")
ZONES = ("Europe/Berlin", "America/New_York")
FIRST, LAST = date(2027, 3, 8), date(2027, 3, 31)
STEP = timedelta(minutes=15)


def _local(day, hour, minute, zone):
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def _build(org, rng):
    """Random people, entries, bookings and rules; returns what the reference needs."""
    truth = []
    for n in range(4):
        zone = ZONES[n % 2]
        location = make_location(org, name=f"L{n}", tz=zone)
        person = make_person(org, location)
        days = sorted(rng.sample(range(1, 8), 4))
        start_h, end_h = rng.choice([(8, 16), (9, 17), (12, 20)])
        AvailabilityRule.objects.create(
            org=org,
            location=location,
            person=person,
            rule_kind="WEEKLY",
            days_of_week=days,
            start_time=time(start_h),
            end_time=time(end_h),
        )
        closed_day = FIRST + timedelta(days=rng.randrange(20))
        AvailabilityRule.objects.create(
            org=org,
            location=location,
            person=person,
            rule_kind="EXCEPTION",
            days_of_week=[],
            start_time=time(start_h),
            end_time=time(start_h + 3),
            valid_from=closed_day,
            is_closed=True,
        )
        record = {
            "person": person,
            "zone": zone,
            "weekly": (days, start_h, end_h),
            "closed": (closed_day, start_h, start_h + 3),
            "busy": [],
            "duty": [],
        }
        for m in range(6):
            dtstart = _local(FIRST + timedelta(days=rng.randrange(10)), rng.randrange(6, 20), rng.choice([0, 30]), zone)
            length = timedelta(minutes=rng.choice([30, 60, 90, 120]))
            rule = rng.choice(["FREQ=DAILY;COUNT=12", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=DAILY;INTERVAL=2", ""])
            kind = "on_call" if m == 5 else "work"
            entry = services.schedule_entry_create(
                actor=None,
                org=org,
                title=f"e{n}.{m}",
                start=dtstart.astimezone(UTC),
                end=(dtstart + length).astimezone(UTC),
                timezone=zone,
                rrule=rule,
                kind=kind,
                assignees=[person.membership],
                force=True,
            )
            target = record["duty"] if kind == "on_call" else record["busy"]
            if not rule:
                target.append((entry.start, entry.end))
                continue
            starts = [s.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) for s in _naive(rule, dtstart)]
            for original in starts:
                roll = rng.random()
                if roll < 0.15:  # cancelled occurrence (EXDATE)
                    ScheduleOverride.objects.create(org=org, master=entry, original_start=original, cancelled=True)
                elif roll < 0.3:  # moved occurrence
                    moved = original + timedelta(hours=rng.choice([-3, 2, 5]))
                    override = ScheduleOverride.objects.create(
                        org=org, master=entry, original_start=original, start=moved, end=moved + length
                    )
                    override.assignees.set([person.membership])
                    target.append((moved, moved + length))
                else:
                    local = original.astimezone(ZoneInfo(zone))
                    target.append((original, (local + length).astimezone(UTC)))
        cursor = _local(FIRST, 7, 0, zone).astimezone(UTC)
        for b in range(12):
            cursor += timedelta(hours=rng.randrange(6, 40))
            length = timedelta(minutes=rng.choice([30, 45, 60]))
            status = rng.choice(["confirmed", "pending", "cancelled", "held", "held"])
            expires = timezone.now() + timedelta(minutes=rng.choice([-5, 5])) if status == "held" else None
            Booking.objects.create(
                org=org,
                person=person,
                start_at=cursor,
                end_at=cursor + length,
                seat_group=f"ref:{n}:{b}",
                status=status,
                hold_expires_at=expires,
                attendee_name="Ref",
            )
            if status in ("confirmed", "pending") or (status == "held" and expires > timezone.now()):
                record["busy"].append((cursor, cursor + length))
            cursor += length
        truth.append(record)
    return truth


def _naive(rule, dtstart):
    """Occurrence wall-clock starts in the entry's zone, from dateutil on naive local times."""
    naive = dtstart.replace(tzinfo=None)
    return rrulestr(rule, dtstart=naive).between(datetime(2027, 3, 1), datetime(2027, 4, 5), inc=True)


def _available(record, instant) -> bool:
    zone = ZoneInfo(record["zone"])
    local = instant.astimezone(zone)
    days, start_h, end_h = record["weekly"]
    if local.isoweekday() not in days:
        return False
    opens = datetime.combine(local.date(), time(start_h), tzinfo=zone)
    closes = datetime.combine(local.date(), time(end_h), tzinfo=zone)
    if not (opens <= local < closes):
        return False
    closed_day, c_start, c_end = record["closed"]
    if local.date() == closed_day and time(c_start) <= local.time() < time(c_end):
        return False
    return True


@pytest.mark.parametrize("seed", [1, 7, 2027])
def test_free_busy_matches_the_brute_force_reference(org, seed):
    truth = _build(org, random.Random(seed))
    start = datetime.combine(FIRST, time.min, tzinfo=UTC)
    end = datetime.combine(LAST, time.min, tzinfo=UTC)
    times = freebusy.free_busy(org=org, start=start, end=end)
    mismatches = []
    for record in truth:
        got = times[record["person"].pk]
        instant = start
        while instant < end:
            busy = any(s <= instant < e for s, e in record["busy"])
            duty = any(s <= instant < e for s, e in record["duty"])
            free = (duty or _available(record, instant)) and not busy
            if any(i.start <= instant < i.end for i in got.busy) != busy:
                mismatches.append(("busy", record["zone"], instant, busy))
            if any(i.start <= instant < i.end for i in got.free) != free:
                mismatches.append(("free", record["zone"], instant, free))
            instant += STEP
    assert not mismatches, mismatches[:10]


def test_free_busy_queries_do_not_grow_with_people(org):
    _build(org, random.Random(3))
    start = datetime.combine(FIRST, time.min, tzinfo=UTC)
    end = start + timedelta(days=7)
    people = list(Person.objects.filter(org=org).select_related("location", "org"))
    with CaptureQueriesContext(connection) as one:
        freebusy.free_busy(org=org, start=start, end=end, people=people[:1])
    with CaptureQueriesContext(connection) as four:
        freebusy.free_busy(org=org, start=start, end=end, people=people)
    # rules, the masters with their assignees and overrides (one statement on PostgreSQL, four ORM
    # queries elsewhere), then one query per registered busy source (bookings, google): never per
    # person (a repeated read is the live holds alone: test_freebusy_time_version.py)
    expected = 4 if connection.vendor == "postgresql" else 7
    assert len(one) == len(four) == expected, [q["sql"][:80] for q in four.captured_queries]
