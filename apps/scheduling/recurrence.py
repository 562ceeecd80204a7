"""RFC 5545 recurrence, as pure functions over python-dateutil.

Rules are expanded from a tz-aware DTSTART in the entry's IANA zone: dateutil steps in wall
time, so a weekly 09:00 stays 09:00 across DST. A window never iterates a series from its
first occurrence when it need not: rules without COUNT start from a DTSTART moved forward by a
whole number of periods (which leaves the set of occurrences unchanged); COUNT rules are
bounded by the series end cached on the master."""

import calendar
import functools
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

#: Most occurrences a COUNT may ask for, and most instances one window may return.
MAX_COUNT = 5000
MAX_INSTANCES_PER_WINDOW = 10_000
#: Most occurrences one computation (a series end, a lookup) may step through: a rule whose
#: answer needs more is refused (RecurrenceError), so no request costs seconds of CPU.
EXPANSION_BUDGET = 20_000
#: Frequencies a schedule entry may use (sub-hourly series are not planned work).
ENTRY_FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")

_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}
_FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}


class RecurrenceError(ValueError):
    """A malformed or unusable RRULE; the message is the reason shown to the caller."""


def _int(name: str, value: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", value):
        raise RecurrenceError(f"{name} must be an integer, got {value!r}.")
    return int(value)


def _parse_until(value: str, zone: ZoneInfo) -> datetime:
    """UNTIL as UTC. A DATE (or floating) UNTIL is read in the entry's zone; a DATE is inclusive."""
    try:
        if re.fullmatch(r"\d{8}", value):
            day = datetime.strptime(value, "%Y%m%d")
            return datetime.combine(day.date(), time(23, 59, 59), zone).astimezone(UTC)
        if re.fullmatch(r"\d{8}T\d{6}Z", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if re.fullmatch(r"\d{8}T\d{6}", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        pass
    raise RecurrenceError(f"UNTIL must be a date (YYYYMMDD) or UTC date-time (YYYYMMDDTHHMMSSZ), got {value!r}.")


def parse_rrule(text: str, *, timezone: str = "UTC", allowed_freqs=_FREQS) -> dict[str, str]:
    """Validate an RRULE value and return its parts, UNTIL normalized to UTC. Raises
    RecurrenceError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise RecurrenceError("The RRULE is empty.")
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if len(text) > 500:
        raise RecurrenceError("The RRULE is too long.")
    zone = ZoneInfo(timezone)
    parts: dict[str, str] = {}
    for chunk in text.split(";"):
        if not chunk:
            continue
        name, eq, value = chunk.partition("=")
        name = name.strip().upper()
        if not eq or not value:
            raise RecurrenceError(f"Malformed RRULE part {chunk!r} (expected NAME=VALUE).")
        if name not in _PARTS:
            raise RecurrenceError(f"Unknown RRULE part {name}.")
        if name in parts:
            raise RecurrenceError(f"{name} appears twice.")
        parts[name] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq is None:
        raise RecurrenceError("FREQ is required.")
    if freq not in _FREQS:
        raise RecurrenceError(f"Unknown FREQ {freq}.")
    if freq not in allowed_freqs:
        raise RecurrenceError(f"FREQ={freq} is not supported here (use one of {', '.join(allowed_freqs)}).")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("COUNT and UNTIL must not both be given.")
    if "INTERVAL" in parts and _int("INTERVAL", parts["INTERVAL"]) < 1:
        raise RecurrenceError("INTERVAL must be a positive integer.")
    if "COUNT" in parts:
        count = _int("COUNT", parts["COUNT"])
        if not 1 <= count <= MAX_COUNT:
            raise RecurrenceError(f"COUNT must be between 1 and {MAX_COUNT}.")
    if "UNTIL" in parts:
        parts["UNTIL"] = _parse_until(parts["UNTIL"], zone).strftime("%Y%m%dT%H%M%SZ")
    if "WKST" in parts and parts["WKST"] not in _DAYS:
        raise RecurrenceError(f"WKST must be one of {', '.join(_DAYS)}.")
    for name, (low, high, signed) in _RANGES.items():
        if name not in parts:
            continue
        for item in parts[name].split(","):
            number = _int(name, item)
            if not (low <= abs(number) <= high) or (number < 0 and not signed):
                raise RecurrenceError(f"{name} value {item} is out of range.")
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            match = _BYDAY.match(item)
            if not match:
                raise RecurrenceError(f"BYDAY value {item!r} is not a weekday (MO..SU, optionally 1MO, -1FR).")
            if match.group(1):
                ordinal = int(match.group(1))
                if freq not in ("MONTHLY", "YEARLY") or not 1 <= abs(ordinal) <= 53:
                    raise RecurrenceError(f"BYDAY ordinal {item} is only valid with MONTHLY/YEARLY rules.")
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise RecurrenceError("BYWEEKNO is only valid with FREQ=YEARLY.")
    if "BYYEARDAY" in parts and freq in ("DAILY", "WEEKLY", "MONTHLY"):
        raise RecurrenceError(f"BYYEARDAY is not valid with FREQ={freq}.")
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise RecurrenceError("BYMONTHDAY is not valid with FREQ=WEEKLY.")
    if "BYSETPOS" in parts and not any(p.startswith("BY") and p != "BYSETPOS" for p in parts):
        raise RecurrenceError("BYSETPOS needs another BYxxx part.")
    _check_satisfiable(parts)
    return parts


def _check_satisfiable(parts: dict[str, str]) -> None:
    """Reject rules that can never occur (e.g. Feb 30): dateutil would search to year 9999."""
    if "BYMONTHDAY" not in parts:
        return
    months = [int(m) for m in parts.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12").split(",")]
    longest = max(calendar.monthrange(2000, m)[1] for m in months)  # 2000 is a leap year
    days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    if all(d > longest for d in days if d > 0) and all(d > 0 for d in days):
        raise RecurrenceError("The rule can never occur (no such day in the given months).")


def format_rrule(parts: dict[str, str]) -> str:
    order = ["FREQ", "INTERVAL", "COUNT", "UNTIL", *sorted(set(parts) - {"FREQ", "INTERVAL", "COUNT", "UNTIL"})]
    return ";".join(f"{name}={parts[name]}" for name in order if name in parts)


def normalize_rrule(text: str, *, timezone: str = "UTC", allowed_freqs=ENTRY_FREQUENCIES) -> str:
    """The canonical stored form of a user's RRULE (validated; UNTIL in UTC)."""
    parts = parse_rrule(text, timezone=timezone, allowed_freqs=allowed_freqs)
    try:
        rrulestr(format_rrule(parts), dtstart=datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone)))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"Invalid RRULE: {exc}.") from None
    return format_rrule(parts)


def build_rule(rrule_text: str, start_utc: datetime, timezone: str, parts: dict | None = None) -> rrule:
    """The dateutil rule with DTSTART = the master's start in its own zone, built from the
    validated parts (so a floating UNTIL or a stray ';' cannot trip dateutil)."""
    parts = parts if parts is not None else parse_rrule(rrule_text, timezone=timezone)
    dtstart = start_utc.astimezone(ZoneInfo(timezone))
    rule = rrulestr(format_rrule(parts), dtstart=dtstart)
    if parts["FREQ"] == "YEARLY" and "BYWEEKNO" in parts and not {"BYDAY", "BYMONTHDAY", "BYYEARDAY"} & set(parts):
        # RFC 5545: a missing BYDAY comes from DTSTART (dateutil would take the whole week).
        rule = rule.replace(byweekday=dtstart.weekday())
    return rule


# --- expansion -----------------------------------------------------------------------------


def _fast_forward(rule: rrule, parts: dict[str, str], dtstart: datetime, target: datetime) -> rrule:
    """The same rule with DTSTART moved forward by whole periods to just before `target`
    (local time). Only for rules without COUNT, where the occurrence set does not depend on
    where counting starts."""
    if "COUNT" in parts or target <= dtstart:
        return rule
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    extra: dict = {}
    if freq == "HOURLY":
        wall = target.replace(tzinfo=None) - dtstart.replace(tzinfo=None)
        periods = int(wall.total_seconds() // 3600) // interval - 1
        if periods <= 0:
            return rule
        new = dtstart + timedelta(hours=periods * interval)  # wall-clock, as dateutil steps
    elif freq in ("DAILY", "WEEKLY"):
        span = interval * (7 if freq == "WEEKLY" else 1)
        periods = (target.date() - dtstart.date()).days // span - 1
        if periods <= 0:
            return rule
        new = dtstart + timedelta(days=periods * span)  # wall-clock arithmetic: keeps 09:00
    elif freq in ("MONTHLY", "YEARLY"):
        months = (target.year - dtstart.year) * 12 + target.month - dtstart.month
        span = interval * (12 if freq == "YEARLY" else 1)
        periods = months // span - 1
        if periods <= 0:
            return rule
        new = dtstart + relativedelta(months=periods * span)
        # dateutil derives missing BYMONTHDAY/BYMONTH from DTSTART; pin them to the original
        # day so the 31st does not become the 30th after a short month.
        if not any(p in parts for p in ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")):
            extra["bymonthday"] = dtstart.day
            if freq == "YEARLY" and "BYMONTH" not in parts:
                extra["bymonth"] = dtstart.month
    else:
        return rule
    if freq == "WEEKLY" and "BYDAY" not in parts:
        extra["byweekday"] = dtstart.weekday()
    for name, unit in (("BYHOUR", "byhour"), ("BYMINUTE", "byminute"), ("BYSECOND", "bysecond")):
        if name not in parts and not (freq == "HOURLY" and name == "BYHOUR"):
            extra[unit] = getattr(dtstart, unit[2:])
    return rule.replace(dtstart=new, **extra)


_SIMPLE_PARTS = frozenset({"FREQ", "INTERVAL", "UNTIL", "BYDAY", "WKST"})


def _simple_starts(
    parts: dict[str, str], dtstart: datetime, after: datetime, before: datetime
) -> list[datetime] | None:
    """DAILY/WEEKLY rules with at most INTERVAL, plain BYDAY, UNTIL and WKST — most planned
    work — stepped by calendar arithmetic over the window's local days instead of dateutil's
    iterator (the same occurrences: wall-clock times in the zone, the occurrence set that
    dateutil gives). None when the rule needs the general expander."""
    freq = parts["FREQ"]
    if freq not in ("DAILY", "WEEKLY") or not parts.keys() <= _SIMPLE_PARTS:
        return None
    days = {_DAYS.index(d) for d in parts["BYDAY"].split(",")} if "BYDAY" in parts else None
    if days is not None and any(len(d) != 2 for d in parts["BYDAY"].split(",")):
        return None
    if freq == "WEEKLY" and days is None:
        days = {dtstart.weekday()}
    interval = int(parts.get("INTERVAL", "1"))
    until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if "UNTIL" in parts else None
    zone, clock = dtstart.tzinfo, dtstart.time()
    first_day = dtstart.date()
    wkst = _DAYS.index(parts.get("WKST", "MO"))
    first_week = first_day - timedelta(days=(first_day.weekday() - wkst) % 7)
    day = max(first_day, after.date())
    last = before.date()
    found = []
    while day <= last:
        if days is None or day.weekday() in days:
            if freq == "DAILY":
                matches = (day - first_day).days % interval == 0
            else:
                week = day - timedelta(days=(day.weekday() - wkst) % 7)
                matches = ((week - first_week).days // 7) % interval == 0
            if matches:
                local = datetime.combine(day, clock, tzinfo=zone)
                if local >= dtstart and after < local < before:
                    instant = local.astimezone(UTC)
                    if until is not None and instant > until:
                        break
                    found.append(instant)
                    if len(found) >= MAX_INSTANCES_PER_WINDOW:
                        break
        day += timedelta(days=1)
    return found


def occurrence_starts(
    rrule_text: str,
    start: datetime,
    end: datetime,
    timezone: str,
    window_start: datetime,
    window_end: datetime,
    series_end: datetime | None = None,
) -> list[datetime]:
    """UTC original starts of the occurrences overlapping [window_start, window_end).

    `series_end` (cached on the master) turns a COUNT rule into the same rule bounded by
    UNTIL = its last occurrence, which may then start near the window like any other.

    Results are kept per process, keyed by everything they depend on (the rule, the
    master's start/end/zone/series end and the window): a master that changes any of these
    gets a new key, so nothing needs invalidating; untouched masters of a calendar polled
    month after month are expanded once (bench/README.md, schedule)."""
    cached = _occurrence_starts_cached(rrule_text, start, end, timezone, window_start, window_end, series_end)
    return [original for original, _stamp in cached]


def occurrences(
    rrule_text: str,
    start: datetime,
    end: datetime,
    timezone: str,
    window_start: datetime,
    window_end: datetime,
    series_end: datetime | None = None,
) -> tuple[tuple[datetime, str], ...]:
    """`occurrence_starts` with each start's instance-id stamp (`instance_id` without the
    master: 'YYYYMMDDTHHMMSSZ'), from the same per-process cache: the free/busy query and
    the expansion format each occurrence's id once, not on every call. A shared tuple."""
    return _occurrence_starts_cached(rrule_text, start, end, timezone, window_start, window_end, series_end)


@functools.lru_cache(maxsize=20_000)
def _occurrence_starts_cached(rrule_text, start, end, timezone, window_start, window_end, series_end) -> tuple:
    starts = _occurrence_starts(rrule_text, start, end, timezone, window_start, window_end, series_end)
    return tuple((original, _stamp(original)) for original in starts)


def _occurrence_starts(rrule_text, start, end, timezone, window_start, window_end, series_end) -> list[datetime]:
    zone = ZoneInfo(timezone)
    duration = end - start
    parts = parse_rrule(rrule_text, timezone=timezone)
    if "COUNT" in parts and series_end is not None:
        if series_end <= window_start:
            return []
        parts.pop("COUNT")
        parts["UNTIL"] = (series_end - duration).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    dtstart = start.astimezone(zone)
    after = (window_start - duration).astimezone(zone)
    before = window_end.astimezone(zone)
    simple = _simple_starts(parts, dtstart, after, before)
    if simple is not None:
        return simple
    rule = build_rule(rrule_text, start, timezone, parts)
    rule = _fast_forward(rule, parts, dtstart, after)
    found = []
    for occurrence in rule.xafter(after, inc=False):
        if occurrence >= before:
            break
        found.append(occurrence.astimezone(UTC))
        if len(found) >= MAX_INSTANCES_PER_WINDOW:
            break
    return found


def series_end(rrule_text: str, start: datetime, end: datetime, timezone: str) -> datetime | None:
    """End of the last occurrence (UTC), or None for an open-ended series."""
    parts = parse_rrule(rrule_text, timezone=timezone)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return None
    rule = build_rule(rrule_text, start, timezone, parts)
    if "UNTIL" in parts:
        # (a year-9999 UNTIL is clamped a year short, so no zone shift can overflow)
        until = min(datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC), _LATEST)
        last = _last_until(rule, parts, start.astimezone(ZoneInfo(timezone)), until.astimezone(ZoneInfo(timezone)))
    else:
        last = None
        for last in rule:  # noqa: B007 - bounded by COUNT <= MAX_COUNT
            pass
    return (last.astimezone(UTC) if last else start) + (end - start)


_LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def _budgeted_last(rule: rrule) -> datetime | None:
    last = None
    for steps, last in enumerate(rule):  # noqa: B007 - the rule stops at its UNTIL
        if steps >= EXPANSION_BUDGET:
            raise RecurrenceError(
                "The series has too many occurrences to compute its end; give a COUNT or an earlier UNTIL."
            )
    return last


def _last_until(rule: rrule, parts: dict[str, str], dtstart: datetime, until: datetime) -> datetime | None:
    """The last occurrence at or before UNTIL without stepping from the first one (an UNTIL in
    year 9999 would take seconds): search from DTSTARTs fast-forwarded to ever longer spans
    before UNTIL; only a rule that cannot be fast-forwarded iterates from the start."""
    for back in (timedelta(days=2), timedelta(days=40), timedelta(days=800), timedelta(days=8000)):
        moved = _fast_forward(rule, parts, dtstart, until - back)
        if moved is rule:
            break  # not movable (a COUNT rule, or UNTIL is near): step from the start
        last = _budgeted_last(moved)
        if last is not None:
            return last
    return _budgeted_last(rule)


def count_before(rrule_text: str, start: datetime, timezone: str, moment: datetime) -> int:
    rule = build_rule(rrule_text, start, timezone)
    return len(rule.between(start.astimezone(ZoneInfo(timezone)) - timedelta(seconds=1), moment, inc=False))


def is_occurrence(rrule_text: str, start: datetime, timezone: str, moment: datetime) -> bool:
    parts = parse_rrule(rrule_text, timezone=timezone)
    rule = build_rule(rrule_text, start, timezone, parts)
    local = moment.astimezone(ZoneInfo(timezone))
    rule = _fast_forward(rule, parts, start.astimezone(ZoneInfo(timezone)), local - timedelta(days=1))
    found = rule.after(local - timedelta(seconds=1), inc=True)
    return found is not None and found.astimezone(UTC) == moment.astimezone(UTC)


def truncate_before(rrule_text: str, start: datetime, timezone: str, moment: datetime) -> str | None:
    """The rule ending just before `moment` (a 'this and future' split); None if nothing is left."""
    parts = parse_rrule(rrule_text, timezone=timezone)
    if "COUNT" in parts:
        kept = count_before(rrule_text, start, timezone, moment)
        if kept == 0:
            return None
        parts["COUNT"] = str(kept)
    else:
        if moment <= start:
            return None
        parts["UNTIL"] = (moment - timedelta(seconds=1)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return format_rrule(parts)


def remainder_from(rrule_text: str, start: datetime, timezone: str, moment: datetime) -> str:
    """The rule of the new series starting at `moment` (COUNT reduced by what came before)."""
    parts = parse_rrule(rrule_text, timezone=timezone)
    if "COUNT" in parts:
        parts["COUNT"] = str(int(parts["COUNT"]) - count_before(rrule_text, start, timezone, moment))
    return format_rrule(parts)


# --- JSON pattern form ---------------------------------------------------------------------

_PATTERN_FREQS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY"}
# daysOfWeek follows JavaScript's getDay(): 0 = Sunday … 6 = Saturday.
_JS_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")


def pattern_to_rrule(pattern: dict, *, timezone: str = "UTC") -> tuple[str, date | None]:
    """{"frequency", "interval", "daysOfWeek", "startDate", "endDate", "count"} → (RRULE,
    start date or None). endDate is inclusive, in the entry's zone."""
    if not isinstance(pattern, dict):
        raise RecurrenceError("The recurrence pattern must be an object.")
    unknown = set(pattern) - {"frequency", "interval", "daysOfWeek", "startDate", "endDate", "count"}
    if unknown:
        raise RecurrenceError(f"Unknown pattern fields: {', '.join(sorted(unknown))}.")
    freq = _PATTERN_FREQS.get(str(pattern.get("frequency", "")).lower())
    if freq is None:
        raise RecurrenceError("frequency must be one of daily, weekly, monthly, yearly.")
    parts = {"FREQ": freq}
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise RecurrenceError("interval must be a positive integer.")
    if interval != 1:
        parts["INTERVAL"] = str(interval)
    days = pattern.get("daysOfWeek")
    if days:
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
            raise RecurrenceError("daysOfWeek must be a list of 0 (Sunday) … 6 (Saturday).")
        parts["BYDAY"] = ",".join(_JS_DAYS[d] for d in sorted(set(days), key=lambda d: (d + 6) % 7))
    if pattern.get("count") is not None and pattern.get("endDate"):
        raise RecurrenceError("Give count or endDate, not both.")
    if pattern.get("count") is not None:
        count = pattern["count"]
        if not isinstance(count, int) or isinstance(count, bool):
            raise RecurrenceError("count must be an integer.")
        parts["COUNT"] = str(count)
    start_date = _pattern_date(pattern.get("startDate"), "startDate")
    end_date = _pattern_date(pattern.get("endDate"), "endDate")
    if end_date:
        if start_date and end_date < start_date:
            raise RecurrenceError("endDate is before startDate.")
        parts["UNTIL"] = end_date.strftime("%Y%m%d")
    return normalize_rrule(format_rrule(parts), timezone=timezone), start_date


def _pattern_date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise RecurrenceError(f"{name} must be an ISO date (YYYY-MM-DD).") from None


# --- instances -----------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    # 'YYYYMMDDTHHMMSSZ', sliced out of isoformat() (strftime is 3x slower; a month view
    # formats thousands of these)
    iso = moment.astimezone(UTC).isoformat()
    return f"{iso[0:4]}{iso[5:7]}{iso[8:10]}T{iso[11:13]}{iso[14:16]}{iso[17:19]}Z"


def instance_id(master_id, original_start: datetime) -> str:
    """'<master>_YYYYMMDDTHHMMSSZ' (the original start in UTC)."""
    return f"{master_id}_{_stamp(original_start)}"


def parse_instance_id(value: str) -> tuple[uuid.UUID, datetime | None]:
    """'<uuid>' or '<uuid>_<YYYYMMDDTHHMMSSZ>' → (master id, original start). ValueError if neither."""
    master, _, stamp = str(value).partition("_")
    master_id = uuid.UUID(master)
    if not stamp:
        return master_id, None
    return master_id, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass
class Instance:
    """One concrete or virtual occurrence, as the API and the calendar show it."""

    id: str
    master: object
    original_start: datetime | None
    start: datetime
    end: datetime
    title: str
    notes: str
    status: str
    assignees: list = field(default_factory=list)
    override: object = None

    @property
    def is_recurring(self) -> bool:
        return self.original_start is not None

    @property
    def is_exception(self) -> bool:
        return self.override is not None


def _override_assignees(override) -> list:
    prefetched = getattr(override, "assignee_list", None)
    return list(prefetched if prefetched is not None else override.assignees.all())


def spans(master, overrides, window_start: datetime, window_end: datetime) -> list[tuple]:
    """The occurrences of one master overlapping the window as light tuples
    (id, original_start, start, end, override): the override (None for a plain occurrence)
    supplies an exception's times; cancelled or moved-away occurrences are left out. What
    `expand` builds Instances from, and what the free/busy query reads without them."""
    if not master.rrule:
        if master.start < window_end and master.end > window_start:
            return [(str(master.pk), None, master.start, master.end, None)]
        return []
    by_original = {o.original_start.astimezone(UTC): o for o in overrides}
    duration = master.end - master.start
    prefix = f"{master.pk}_"
    found = occurrences(
        master.rrule,
        master.start,
        master.end,
        master.timezone,
        window_start,
        window_end,
        series_end=getattr(master, "series_end", None),
    )
    if by_original:
        out = [
            (prefix + stamp, original, original, original + duration, None)
            for original, stamp in found
            if original not in by_original
        ]
        for original, override in by_original.items():
            if override.cancelled or not (override.start < window_end and override.end > window_start):
                continue
            out.append((prefix + _stamp(original), original, override.start, override.end, override))
        return out
    return [(prefix + stamp, original, original, original + duration, None) for original, stamp in found]


def expand(master, overrides, window_start: datetime, window_end: datetime, assignees=None) -> list[Instance]:
    """Instances of one master overlapping the window. `overrides` are the master's
    ScheduleOverride rows (at least those near the window); `assignees` the master's list."""
    assignees = list(assignees if assignees is not None else master.assignees.all())
    instances = []
    for ident, original, start, end, override in spans(master, overrides, window_start, window_end):
        if override is None:
            instances.append(
                Instance(
                    id=ident,
                    master=master,
                    original_start=original,
                    start=start,
                    end=end,
                    title=master.title,
                    notes=master.notes,
                    status=master.status,
                    assignees=assignees,
                )
            )
        else:
            instances.append(
                Instance(
                    id=ident,
                    master=master,
                    original_start=original,
                    start=start,
                    end=end,
                    title=override.title or master.title,
                    notes=override.notes if override.notes else master.notes,
                    status=override.status or master.status,
                    assignees=_override_assignees(override),
                    override=override,
                )
            )
    return instances
