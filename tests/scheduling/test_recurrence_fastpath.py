"""The calendar-arithmetic expansion of simple DAILY/WEEKLY rules gives exactly the
occurrences dateutil gives, across DST switches in several zones (random rules)."""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.scheduling import recurrence

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC")


def _general(rrule_text, start, end, zone, window_start, window_end):
    parts = recurrence.parse_rrule(rrule_text, timezone=zone)
    rule = recurrence.build_rule(rrule_text, start, zone, parts)
    after = (window_start - (end - start)).astimezone(ZoneInfo(zone))
    before = window_end.astimezone(ZoneInfo(zone))
    return [o.astimezone(UTC) for o in rule.between(after, before, inc=False) if o < before]


@pytest.mark.parametrize("seed", range(8))
def test_fast_path_equals_dateutil(seed):
    rng = random.Random(seed)
    for _ in range(60):
        zone = rng.choice(ZONES)
        freq = rng.choice(["DAILY", "WEEKLY"])
        parts = [f"FREQ={freq}"]
        if rng.random() < 0.6:
            parts.append(f"INTERVAL={rng.randint(1, 4)}")
        if rng.random() < 0.6:
            parts.append("BYDAY=" + ",".join(sorted(rng.sample(["MO", "TU", "WE", "TH", "FR", "SA", "SU"], 3))))
        if rng.random() < 0.3:
            parts.append(f"WKST={rng.choice(['MO', 'SU', 'WE'])}")
        if rng.random() < 0.4:
            parts.append(f"UNTIL=2027{rng.randint(3, 11):02d}{rng.randint(1, 28):02d}T120000Z")
        rule = ";".join(parts)
        start = (
            datetime(2027, 1, 1, tzinfo=ZoneInfo(zone))
            .replace(
                month=rng.randint(1, 3),
                day=rng.randint(1, 28),
                hour=rng.choice([0, 2, 9, 23]),
                minute=rng.choice([0, 30]),
            )
            .astimezone(UTC)
        )
        end = start + timedelta(minutes=rng.choice([30, 90, 600]))
        window_start = datetime(2027, 3, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 240))
        window_end = window_start + timedelta(days=rng.choice([1, 7, 40]))
        fast = recurrence.occurrence_starts(rule, start, end, zone, window_start, window_end)
        assert fast == _general(rule, start, end, zone, window_start, window_end), (rule, zone, start, window_start)
