"""Availability rules expanded into concrete windows and slots of one local day (pure: no
queries). The free/busy query and slot generation both read availability through here."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta

from apps.scheduling.models import AvailabilityRule

Kind = AvailabilityRule.Kind


def day_windows(rules: list[AvailabilityRule], day: date, tz: zoneinfo.ZoneInfo) -> list[tuple]:
    """The open windows of one local day as (start_utc, end_utc, rule), closed windows apart.

    Layering: open EXCEPTION rules replace the day's hours, else DATE_RANGE rules, else
    WEEKLY rules; closed EXCEPTION windows are returned separately (second item)."""
    applying = [r for r in rules if r.applies_on(day)]
    exceptions = [r for r in applying if r.rule_kind == Kind.EXCEPTION]
    closed = [r for r in exceptions if r.is_closed]
    base = (
        [r for r in exceptions if not r.is_closed]
        or [r for r in applying if r.rule_kind == Kind.DATE_RANGE]
        or [r for r in applying if r.rule_kind == Kind.WEEKLY]
    )
    return [(*_window(day, r, tz), r) for r in base], [_window(day, r, tz) for r in closed]


def expand_day(rules: list[AvailabilityRule], day: date, tz: zoneinfo.ZoneInfo, *, step=None, length=None) -> list:
    """The slots of one local day as (start_utc, end_utc, capacity, rule), in the zone `tz`.

    Steps are taken in real (UTC) time from the local start, so a DST day has no phantom or
    missing hour; a slot touching a closed EXCEPTION window is dropped."""
    windows, closed_windows = day_windows(rules, day, tz)
    out = []
    for start, end, rule in windows:
        slot_step = step or timedelta(minutes=rule.slot_granularity_minutes)
        slot_length = length or timedelta(minutes=rule.slot_duration_minutes)
        cursor = start
        while cursor + slot_length <= end:
            slot_end = cursor + slot_length
            if not any(cursor < c_end and c_start < slot_end for c_start, c_end in closed_windows):
                out.append((cursor, slot_end, rule.slot_capacity, rule))
            cursor += slot_step
    return sorted(out, key=lambda item: item[0])


def _window(day: date, rule: AvailabilityRule, tz) -> tuple[datetime, datetime]:
    start = datetime.combine(day, rule.start_time, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, rule.end_time, tzinfo=tz).astimezone(UTC)
    return start, end
