"""iCalendar (RFC 5545) feeds and import, with the `icalendar` package.

A feed carries each master once: DTSTART/DTEND in the entry's zone (with its VTIMEZONE),
RRULE, EXDATE for cancelled occurrences and one VEVENT with RECURRENCE-ID per changed one.
Import reads the same shapes back (plus plain single events)."""

import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.db import transaction
from django.db.models import Prefetch, Q

from apps.orgs.models import TeamMember
from apps.scheduling import services
from apps.scheduling.models import ScheduleEntry, ScheduleFeed, ScheduleOverride
from schedkit.api.problems import Problem
from schedkit.tokens import token_hash

PRODID = "-//SchedKit//Schedule//EN"
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_EVENTS = 2000


@transaction.atomic
def schedule_feed_create(*, actor, membership=None, team=None) -> tuple[ScheduleFeed, str]:
    """Returns (feed, raw token); the raw token shows once and is stored hashed."""
    raw = "cal_" + secrets.token_urlsafe(32)
    feed = ScheduleFeed(
        org=actor.org,
        membership=membership,
        team=team,
        token_hash=token_hash(raw),
        created_by=actor.user,
    )
    feed.full_clean()
    feed.save()
    return feed, raw


def schedule_feed_delete(*, actor, feed: ScheduleFeed) -> None:
    feed.delete()


def feed_by_token(raw: str) -> ScheduleFeed | None:
    if not raw or len(raw) > 100:
        return None
    return (
        ScheduleFeed.objects.filter(token_hash=token_hash(raw), revoked_at__isnull=True)
        .select_related("org", "membership", "team")
        .first()
    )


# --- export --------------------------------------------------------------------------------


def _uid(entry: ScheduleEntry) -> str:
    return entry.ical_uid or f"{entry.pk}@schedkit"


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    return value.astimezone(zone)


def feed_entries(feed: ScheduleFeed):
    """Masters of the feed's person (all of theirs) or team (non-private), with overrides."""
    if feed.membership_id:
        people = Q(assignees=feed.membership_id) | Q(overrides__assignees=feed.membership_id)
    else:
        members = TeamMember.objects.filter(team_id=feed.team_id).values("membership_id")
        people = (Q(assignees__in=members) | Q(overrides__assignees__in=members)) & Q(private=False)
    ids = ScheduleEntry.objects.filter(people, org_id=feed.org_id).values("pk")
    return (
        ScheduleEntry.objects.filter(pk__in=ids)
        .prefetch_related("assignees__user", Prefetch("overrides", queryset=ScheduleOverride.objects.all()))
        .order_by("start")
    )


def build_calendar(entries, *, name: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    now = datetime.now(UTC)
    for entry in entries:
        zone = ZoneInfo(entry.timezone)
        event = _event(entry, entry.title, entry.notes, entry.status, entry.start, entry.end, zone, now)
        if entry.rrule:
            event.add("rrule", icalendar.vRecur.from_ical(entry.rrule))
            cancelled = [o for o in entry.overrides.all() if o.cancelled]
            if cancelled:
                event.add("exdate", [_local(o.original_start, zone) for o in cancelled])
        cal.add_component(event)
        for override in entry.overrides.all():
            if override.cancelled:
                continue
            child = _event(
                entry,
                override.title or entry.title,
                override.notes or entry.notes,
                override.status or entry.status,
                override.start,
                override.end,
                zone,
                now,
            )
            child.add("recurrence-id", _local(override.original_start, zone))
            cal.add_component(child)
    cal.add_missing_timezones()
    return cal.to_ical()


def _event(entry, title, notes, status, start, end, zone, now) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", _uid(entry))
    event.add("dtstamp", now)
    event.add("summary", title)
    if notes:
        event.add("description", notes)
    event.add("dtstart", _local(start, zone))
    event.add("dtend", _local(end, zone))
    event.add("status", {"cancelled": "CANCELLED", "tentative": "TENTATIVE"}.get(status, "CONFIRMED"))
    if entry.private:
        event.add("class", "PRIVATE")
    return event


# --- import --------------------------------------------------------------------------------


def _as_utc(value, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone).astimezone(UTC)
    raise ValueError("not a date")


def _zone_of(value, default: str) -> str:
    tz = getattr(value, "tzinfo", None)
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key:
        try:
            ZoneInfo(key)
            return key
        except Exception:  # noqa: BLE001 - a non-IANA TZID falls back to the default
            return default
    return "UTC" if tz is not None else default


def _bad(detail: str) -> Problem:
    return Problem(400, "INVALID_ICS", "Invalid iCalendar file", detail)


@transaction.atomic
def schedule_import_ics(*, actor, org, data: bytes, assignees=(), force: bool = True) -> list[ScheduleEntry]:
    """Create entries from an .ics body: masters with RRULE/EXDATE, RECURRENCE-ID overrides.
    Imported events replace nothing; conflicts are not enforced unless force=False."""
    if len(data) > MAX_IMPORT_BYTES:
        raise Problem(413, "PAYLOAD_TOO_LARGE", "File too large", f"At most {MAX_IMPORT_BYTES} bytes.")
    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the caller's bad input
        raise _bad(f"Could not parse the calendar: {exc}") from None
    events = [c for c in cal.walk("VEVENT")]
    if len(events) > MAX_IMPORT_EVENTS:
        raise _bad(f"At most {MAX_IMPORT_EVENTS} events per import.")
    masters = [e for e in events if e.get("recurrence-id") is None]
    children = [e for e in events if e.get("recurrence-id") is not None]
    created: dict[str, ScheduleEntry] = {}
    for event in events:
        if getattr(event, "errors", None):
            name, reason = event.errors[0]
            raise _bad(f"Event {event.get('uid', '?')}: {name}: {reason}")
    for event in masters:
        uid = str(event.get("uid", "")) or f"import-{secrets.token_hex(8)}"
        dtstart = event.get("dtstart")
        if dtstart is None:
            raise _bad(f"Event {uid} has no DTSTART.")
        start_value = dtstart.dt
        zone_name = _zone_of(start_value, org.timezone)
        zone = ZoneInfo(zone_name)
        start = _as_utc(start_value, zone)
        if event.get("dtend") is not None:
            end = _as_utc(event.get("dtend").dt, zone)
        elif event.get("duration") is not None:
            end = start + event.get("duration").dt
        else:
            end = start + (timedelta(days=1) if not isinstance(start_value, datetime) else timedelta(hours=1))
        rrule = ""
        if event.get("rrule") is not None:
            rrule = event.get("rrule").to_ical().decode()
        status = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}.get(str(event.get("status", "")).upper())
        entry = services.schedule_entry_create(
            actor=actor,
            org=org,
            title=str(event.get("summary", "")) or "(untitled)",
            notes=str(event.get("description", "")),
            start=start,
            end=end,
            timezone=zone_name,
            status=status or "scheduled",
            assignees=assignees,
            private=str(event.get("class", "")).upper() in ("PRIVATE", "CONFIDENTIAL"),
            rrule=rrule,
            ical_uid=uid[:255],
            force=force,
        )
        created[uid] = entry
        for exdate in _exdates(event):
            original = _as_utc(exdate, zone)
            ScheduleOverride.objects.update_or_create(
                master=entry, original_start=original, defaults={"org_id": org.pk, "cancelled": True}
            )
    for event in children:
        uid = str(event.get("uid", ""))
        entry = created.get(uid)
        if entry is None:
            continue  # an override of a series not in this file
        zone = ZoneInfo(entry.timezone)
        original = _as_utc(event.get("recurrence-id").dt, zone)
        start = _as_utc(event.get("dtstart").dt, zone)
        end = _as_utc(event.get("dtend").dt, zone) if event.get("dtend") is not None else start + entry.duration
        override, _ = ScheduleOverride.objects.update_or_create(
            master=entry,
            original_start=original,
            defaults={
                "org_id": org.pk,
                "cancelled": False,
                "title": str(event.get("summary", "")) or entry.title,
                "notes": str(event.get("description", "")),
                "start": start,
                "end": end,
            },
        )
        override.assignees.set(entry.assignees.all())
    return list(created.values())


def _exdates(event) -> list:
    found = []
    values = event.get("exdate")
    if values is None:
        return found
    for value in values if isinstance(values, list) else [values]:
        found += [d.dt for d in value.dts]
    return found
