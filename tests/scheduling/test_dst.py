"""Daylight saving time: WEEKLY rules on the spring-forward and fall-back days produce the
right UTC starts (slot expansion, host slots, the public API), and a minimum notice that
spans the change is counted in real hours, not wall-clock hours."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from apps.bookings.selectors import host_slots
from apps.scheduling.availability import expand_day
from apps.scheduling.models import AvailabilityRule, Person
from tests.bookings.factories import make_event_type
from tests.scheduling.factories import make_location, make_person, make_rule

UTC = ZoneInfo("UTC")
NEW_YORK, BERLIN = "America/New_York", "Europe/Berlin"
# 2027: New York springs forward on 14 March and falls back on 7 November; Berlin on 28 March
# and 31 October.
SPRING = {NEW_YORK: date(2027, 3, 14), BERLIN: date(2027, 3, 28)}
FALL = {NEW_YORK: date(2027, 11, 7), BERLIN: date(2027, 10, 31)}


def utc(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def rule(start: time, end: time, **fields) -> AvailabilityRule:
    """An unsaved WEEKLY rule (expansion is pure)."""
    defaults = {
        "rule_kind": "WEEKLY",
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "slot_granularity_minutes": 60,
        "slot_duration_minutes": 60,
    }
    return AvailabilityRule(start_time=start, end_time=end, **{**defaults, **fields})


def starts(tz_name: str, day: date, start: time, end: time) -> list[str]:
    slots = expand_day([rule(start, end)], day, ZoneInfo(tz_name))
    return [s.astimezone(UTC).strftime("%m-%d %H:%M") for s, _e, _c, _r in slots]


@pytest.mark.parametrize(
    ("tz_name", "day", "expected"),
    [
        # 13:00–16:00 local: the day before, the change day, the day after.
        (NEW_YORK, SPRING[NEW_YORK] - timedelta(days=1), ["03-13 18:00", "03-13 19:00", "03-13 20:00"]),  # EST
        (NEW_YORK, SPRING[NEW_YORK], ["03-14 17:00", "03-14 18:00", "03-14 19:00"]),  # EDT from 02:00
        (NEW_YORK, FALL[NEW_YORK] - timedelta(days=1), ["11-06 17:00", "11-06 18:00", "11-06 19:00"]),  # EDT
        (NEW_YORK, FALL[NEW_YORK], ["11-07 18:00", "11-07 19:00", "11-07 20:00"]),  # EST from 02:00
        (BERLIN, SPRING[BERLIN] - timedelta(days=1), ["03-27 12:00", "03-27 13:00", "03-27 14:00"]),  # CET
        (BERLIN, SPRING[BERLIN], ["03-28 11:00", "03-28 12:00", "03-28 13:00"]),  # CEST from 02:00
        (BERLIN, FALL[BERLIN] - timedelta(days=1), ["10-30 11:00", "10-30 12:00", "10-30 13:00"]),  # CEST
        (BERLIN, FALL[BERLIN], ["10-31 12:00", "10-31 13:00", "10-31 14:00"]),  # CET from 03:00
    ],
)
def test_afternoon_rule_on_dst_days(tz_name, day, expected):
    assert starts(tz_name, day, time(13), time(16)) == expected


@pytest.mark.parametrize(
    ("tz_name", "day", "expected"),
    [
        # 20:00–23:00 New York runs past midnight UTC: the starts land on the next UTC day.
        (NEW_YORK, SPRING[NEW_YORK], ["03-15 00:00", "03-15 01:00", "03-15 02:00"]),
        (NEW_YORK, FALL[NEW_YORK], ["11-08 01:00", "11-08 02:00", "11-08 03:00"]),
        # 22:00–23:59 Berlin.
        (BERLIN, SPRING[BERLIN], ["03-28 20:00"]),
        (BERLIN, FALL[BERLIN], ["10-31 21:00"]),
    ],
)
def test_evening_rule_on_dst_days(tz_name, day, expected):
    end = time(23) if tz_name == NEW_YORK else time(23, 59)
    start = time(20) if tz_name == NEW_YORK else time(22)
    assert starts(tz_name, day, start, end) == expected


def test_a_window_across_the_change_has_no_phantom_or_missing_hour():
    # Spring: 01:00–04:00 local is two real hours (02:00–03:00 does not exist).
    assert starts(NEW_YORK, SPRING[NEW_YORK], time(1), time(4)) == ["03-14 06:00", "03-14 07:00"]
    # Fall: 01:00–03:00 local is three real hours (01:00–02:00 happens twice).
    assert starts(NEW_YORK, FALL[NEW_YORK], time(1), time(3)) == ["11-07 05:00", "11-07 06:00", "11-07 07:00"]
    assert starts(BERLIN, SPRING[BERLIN], time(1), time(4)) == ["03-28 00:00", "03-28 01:00"]
    assert starts(BERLIN, FALL[BERLIN], time(1), time(4)) == [
        "10-30 23:00",
        "10-31 00:00",
        "10-31 01:00",
        "10-31 02:00",
    ]


# --- host slots: stored rules, the event type's notice, and the public API -----------------


@pytest.fixture
def hosts(org):
    """A host in each zone with 13:00–17:00 every day and a 60-minute event type."""
    out = {}
    for tz_name, username in ((NEW_YORK, "ny-host"), (BERLIN, "berlin-host")):
        location = make_location(org, name=tz_name, tz=tz_name)
        person = make_person(org, location, username=username)
        make_rule(location, person, start_time=time(13), end_time=time(17), slot_granularity_minutes=60)
        make_event_type(org, person, slug="meet", duration_minutes=60, booking_window_days=366)
        out[tz_name] = Person.objects.select_related("location", "org").get(pk=person.pk)
    return out


def host_starts(person, day, now, **event_fields) -> list[str]:
    event_type = person.event_types.get()
    for field, value in event_fields.items():
        setattr(event_type, field, value)
    slots = host_slots(event_type=event_type, person=person, day=day, now=now)
    return [s["start"].astimezone(UTC).strftime("%m-%d %H:%M") for s in slots]


@pytest.mark.django_db
@pytest.mark.parametrize("tz_name", [NEW_YORK, BERLIN])
def test_host_slots_on_dst_days(hosts, tz_name):
    person = hosts[tz_name]
    now = datetime(2027, 1, 1, tzinfo=UTC)
    first_utc_hour = {  # 13:00 local in UTC: standard time before spring and after fall
        NEW_YORK: {"before": 18, "spring": 17, "fall_before": 17, "fall": 18},
        BERLIN: {"before": 12, "spring": 11, "fall_before": 11, "fall": 12},
    }[tz_name]
    for key, day in (
        ("before", SPRING[tz_name] - timedelta(days=1)),
        ("spring", SPRING[tz_name]),
        ("fall_before", FALL[tz_name] - timedelta(days=1)),
        ("fall", FALL[tz_name]),
    ):
        expected = [utc(day, f"{first_utc_hour[key] + n}:00").strftime("%m-%d %H:%M") for n in range(4)]
        assert host_starts(person, day, now) == expected, key


@pytest.mark.django_db
def test_minimum_notice_across_spring_forward_counts_real_hours(hosts):
    # New York: Saturday 13 March 2027 14:30 EST (19:30Z). 24 h of notice ends Sunday 19:30Z,
    # which is 15:30 EDT: the 13:00, 14:00 and 15:00 starts go, 16:00 stays. (Counting
    # wall-clock hours would end the notice at 14:30 local and wrongly keep 15:00.)
    person = hosts[NEW_YORK]
    now = datetime(2027, 3, 13, 19, 30, tzinfo=UTC)
    sunday = SPRING[NEW_YORK]
    assert host_starts(person, sunday, now) == ["03-14 17:00", "03-14 18:00", "03-14 19:00", "03-14 20:00"]
    assert host_starts(person, sunday, now, minimum_notice_minutes=24 * 60) == ["03-14 20:00"]
    # Exactly at the notice boundary a start is still bookable: 24 h before 15:00 EDT (19:00Z).
    boundary = datetime(2027, 3, 13, 19, 0, tzinfo=UTC)
    assert host_starts(person, sunday, boundary, minimum_notice_minutes=24 * 60) == ["03-14 19:00", "03-14 20:00"]
    # The same notice on Saturday itself (no change in between) keeps nothing that day.
    assert host_starts(person, sunday - timedelta(days=1), now, minimum_notice_minutes=24 * 60) == []

    # Berlin: Saturday 27 March 2027 13:30 CET (12:30Z). 24 h later is Sunday 12:30Z = 14:30
    # CEST: 13:00 and 14:00 go, 15:00 and 16:00 stay (wall-clock counting would keep 14:00).
    person = hosts[BERLIN]
    now = datetime(2027, 3, 27, 12, 30, tzinfo=UTC)
    assert host_starts(person, SPRING[BERLIN], now, minimum_notice_minutes=24 * 60) == [
        "03-28 13:00",
        "03-28 14:00",
    ]


@pytest.mark.django_db
def test_minimum_notice_across_fall_back_counts_real_hours(hosts):
    # New York: Saturday 6 November 2027 14:30 EDT (18:30Z). 24 h later is Sunday 18:30Z =
    # 13:30 EST: only 13:00 goes (wall-clock counting would drop 14:00 as well).
    person = hosts[NEW_YORK]
    now = datetime(2027, 11, 6, 18, 30, tzinfo=UTC)
    assert host_starts(person, FALL[NEW_YORK], now, minimum_notice_minutes=24 * 60) == [
        "11-07 19:00",
        "11-07 20:00",
        "11-07 21:00",
    ]


def next_change(tz_name: str, *, spring: bool) -> date:
    """The next local day (from tomorrow on) on which the zone's UTC offset changes."""
    tz, day = ZoneInfo(tz_name), date.today() + timedelta(days=1)
    for _ in range(400):
        before = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
        if before != after and (after > before) == spring:
            return day
        day += timedelta(days=1)
    raise AssertionError(f"no DST change in {tz_name}")


@pytest.mark.django_db(transaction=True)
def test_public_slots_api_on_the_next_dst_days(hosts):
    client = APIClient()
    spring = next_change(NEW_YORK, spring=True)
    body = client.get(f"/v1/slots/ny-host/meet?date={spring.isoformat()}").json()
    assert body["timezone"] == NEW_YORK
    assert [datetime.fromisoformat(s["start"]).astimezone(UTC) for s in body["slots"]] == [
        utc(spring, f"{h}:00") for h in (17, 18, 19, 20)
    ]
    # The Berlin host's fall-back Sunday, viewed in UTC.
    fall = next_change(BERLIN, spring=False)
    body = client.get(f"/v1/slots/berlin-host/meet?date={fall.isoformat()}&timezone=UTC").json()
    assert [datetime.fromisoformat(s["start"]) for s in body["slots"]] == [
        utc(fall, f"{h}:00") for h in (12, 13, 14, 15)
    ]
