"""Every schedule write: create, update and delete with scope single|future|all.

Keyword-only, atomic, full_clean() before save, conflicts checked inside the transaction
(a 409 rolls the change back unless `force`), and schedule.entry.* published after commit."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone as dj_timezone

from apps.events.publish import publish_on_commit
from apps.orgs.models import Membership
from apps.scheduling import recurrence
from apps.scheduling.conflicts import entry_conflicts
from apps.scheduling.locks import lock_person_time
from apps.scheduling.models import EntryKind, ScheduleEntry, ScheduleOverride, Status
from schedkit.api.problems import Problem

SCOPES = ("single", "future", "all")
MASTER_FIELDS = ("title", "notes", "status", "kind", "timezone", "incident", "work_item_ref", "private")
SINGLE_FIELDS = {"title", "notes", "status", "start", "end", "assignees"}
#: How far ahead a series is checked for double-bookings on save.
CONFLICT_HORIZON = timedelta(days=180)
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _invalid_rrule(exc: Exception) -> Problem:
    return Problem(400, "INVALID_RRULE", "Invalid recurrence rule", str(exc))


def _check_assignees(org, assignees: Iterable[Membership]) -> list[Membership]:
    assignees = list(assignees)
    if any(m.org_id != org.pk for m in assignees):
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "Every assignee must be a member of this organization.")
    return assignees


def _save_master(entry: ScheduleEntry) -> None:
    if entry.rrule:
        try:
            entry.rrule = recurrence.normalize_rrule(entry.rrule, timezone=entry.timezone)
        except recurrence.RecurrenceError as exc:
            raise _invalid_rrule(exc) from None
    entry.full_clean(exclude=["assignees"])
    entry.series_end = (
        recurrence.series_end(entry.rrule, entry.start, entry.end, entry.timezone) if entry.rrule else None
    )
    entry.save()


def event_data(entry: ScheduleEntry, **extra) -> dict:
    return {
        "id": entry.pk,
        "title": entry.title,
        "start": entry.start,
        "end": entry.end,
        "status": entry.status,
        "rrule": entry.rrule,
        "assignee_ids": sorted(str(pk) for pk in entry.assignees.values_list("pk", flat=True)),
        **extra,
    }


def _publish(entry: ScheduleEntry, type: str, **extra) -> None:
    publish_on_commit(org=entry.org, type=f"schedule.entry.{type}", data=event_data(entry, **extra))


# --- conflicts -----------------------------------------------------------------------------


def _candidates(entry: ScheduleEntry) -> list[tuple[datetime, datetime, set]]:
    """The intervals this master now occupies (series: the next CONFLICT_HORIZON)."""
    if entry.status == Status.CANCELLED or entry.kind == EntryKind.ON_CALL:
        return []  # an on-call shift puts people on duty; it occupies no one
    people = set(entry.assignees.values_list("pk", flat=True))
    overrides = list(entry.overrides.prefetch_related("assignees"))
    if not entry.rrule:
        return [(entry.start, entry.end, {str(p) for p in people})] if people else []
    start = max(entry.start, dj_timezone.now() - timedelta(days=1))
    instances = recurrence.expand(entry, overrides, start, start + CONFLICT_HORIZON, assignees=_plain(people))
    return [
        (i.start, i.end, {str(getattr(a, "pk", a)) for a in i.assignees})
        for i in instances[:500]
        if i.status != Status.CANCELLED and i.assignees
    ]


class _Pk:
    def __init__(self, pk):
        self.pk = pk


def _plain(pks) -> list:
    return [_Pk(pk) for pk in pks]


def _ensure_no_conflict(entries: list[ScheduleEntry], force: bool) -> None:
    """Under the assignees' person-time locks (also when forced, so a concurrent booking's
    check never interleaves with this write), refuse a clash unless `force`."""
    candidates, exclude = [], set()
    for entry in entries:
        candidates += _candidates(entry)
        exclude.add(str(entry.pk))
    if not candidates:
        return
    lock_person_time(set().union(*(c[2] for c in candidates)))
    if force:
        return
    conflicts = entry_conflicts(org=entries[0].org, candidates=candidates, exclude=exclude)
    if conflicts:
        raise Problem(
            409,
            "SCHEDULE_CONFLICT",
            "Assignee double-booked",
            f"{len(conflicts)} clash(es) with other entries or bookings; resend with force=true to save anyway.",
            conflicts=[_json(c) for c in conflicts],
        )


def _json(conflict: dict) -> dict:
    return {k: (v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v) for k, v in conflict.items()}


# --- create --------------------------------------------------------------------------------


@transaction.atomic
def schedule_entry_create(
    *,
    actor,
    org,
    title: str,
    start: datetime,
    end: datetime,
    timezone: str | None = None,
    notes: str = "",
    status: str = Status.SCHEDULED,
    kind: str = EntryKind.WORK,
    assignees: Iterable[Membership] = (),
    incident=None,
    work_item_ref: str = "",
    private: bool = False,
    rrule: str = "",
    ical_uid: str = "",
    force: bool = False,
) -> ScheduleEntry:
    entry = ScheduleEntry(
        org=org,
        title=title,
        notes=notes,
        start=start,
        end=end,
        timezone=timezone or org.timezone,
        status=status,
        kind=kind,
        incident=incident,
        work_item_ref=work_item_ref,
        private=private,
        rrule=rrule or "",
        ical_uid=ical_uid,
        created_by=actor.user if actor is not None else None,
    )
    _save_master(entry)
    entry.assignees.set(_check_assignees(org, assignees))
    _ensure_no_conflict([entry], force)
    _publish(entry, "created")
    return entry


# --- update --------------------------------------------------------------------------------


def _lock(entry: ScheduleEntry) -> ScheduleEntry:
    return ScheduleEntry.objects.select_for_update().select_related("org").get(pk=entry.pk)


def _require_occurrence(entry: ScheduleEntry, instance_start: datetime | None) -> datetime:
    if instance_start is None:
        raise Problem(400, "INSTANCE_REQUIRED", "Instance required", "Name the occurrence (instance id) to change.")
    instance_start = instance_start.astimezone(UTC)
    if entry.overrides.filter(original_start=instance_start).exists():
        return instance_start
    if not recurrence.is_occurrence(entry.rrule, entry.start, entry.timezone, instance_start):
        raise Problem(404, "NOT_FOUND", "Not found", "The series has no occurrence at that time.")
    return instance_start


def _shift_byday(rrule: str, timezone: str, days: int) -> str:
    """Moving a weekly series by whole days moves its plain BYDAY weekdays with it."""
    parts = recurrence.parse_rrule(rrule, timezone=timezone)
    byday = parts.get("BYDAY")
    if not days or not byday or any(not d.isalpha() for d in byday.split(",")):
        return rrule
    parts["BYDAY"] = ",".join(_DAYS[(_DAYS.index(d) + days) % 7] for d in byday.split(","))
    return recurrence.format_rrule(parts)


def _apply_to_master(entry: ScheduleEntry, changes: dict, instance_start: datetime | None) -> timedelta:
    """Apply changes to a master; times given for an instance move the whole series by the
    same amount. Returns the shift of the series' starts."""
    for name in MASTER_FIELDS:
        if name in changes:
            setattr(entry, name, changes[name])
    if "rrule" in changes:
        entry.rrule = changes["rrule"] or ""
    shift = timedelta(0)
    if "start" in changes or "end" in changes:
        anchor = instance_start if (instance_start is not None and entry.rrule) else entry.start
        anchor_end = anchor + entry.duration
        new_start = changes.get("start", anchor)
        new_end = changes.get("end", new_start + (anchor_end - anchor) if "start" in changes else anchor_end)
        shift = new_start - anchor
        if entry.rrule and shift:
            zone = ZoneInfo(entry.timezone)
            days = (new_start.astimezone(zone).date() - anchor.astimezone(zone).date()).days
            entry.rrule = _shift_byday(entry.rrule, entry.timezone, days)
        entry.start = entry.start + shift
        entry.end = entry.start + (new_end - new_start)
    return shift


def _shift_overrides(entry: ScheduleEntry, shift: timedelta, old_duration: timedelta) -> None:
    """Overrides are keyed by original start, which moved with the series. An override that
    kept the occurrence's times (it changed only the title, say) moves with it too; one that
    was rescheduled keeps its own times."""
    if not shift and old_duration == entry.duration:
        return
    # descending (for a forward shift) so no two rows ever share an original start
    rows = list(entry.overrides.order_by("-original_start" if shift > timedelta(0) else "original_start"))
    for override in rows:
        untouched = (
            not override.cancelled
            and override.start == override.original_start
            and override.end - override.start == old_duration
        )
        override.original_start = override.original_start + shift
        if untouched:
            override.start, override.end = override.original_start, override.original_start + entry.duration
        override.save(update_fields=["original_start", "start", "end", "updated_at"])


@transaction.atomic
def schedule_entry_update(
    *,
    actor,
    entry: ScheduleEntry,
    changes: dict,
    instance_start: datetime | None = None,
    scope: str = "all",
    force: bool = False,
) -> ScheduleEntry:
    """Returns the master now carrying the change (the new series for scope=future)."""
    if scope not in SCOPES:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "scope must be single, future or all.")
    entry = _lock(entry)
    if "assignees" in changes:
        changes["assignees"] = _check_assignees(entry.org, changes["assignees"])
    if not entry.rrule:
        scope, instance_start = "all", None
    if scope == "single":
        override = _update_single(entry, _require_occurrence(entry, instance_start), changes)
        _ensure_no_conflict([entry], force)
        _publish(
            entry, "updated", scope="single", instance_id=recurrence.instance_id(entry.pk, override.original_start)
        )
        return entry
    if scope == "future":
        instance_start = _require_occurrence(entry, instance_start)
        if instance_start > entry.start:
            new = _split(entry, instance_start, changes)
            _ensure_no_conflict([entry, new], force)
            _publish(entry, "updated", scope="future", split_at=instance_start, new_series_id=new.pk)
            _publish(new, "created", scope="future", split_from=entry.pk)
            return new
    if instance_start is not None:
        instance_start = _require_occurrence(entry, instance_start)
    old_duration = entry.duration
    shift = _apply_to_master(entry, changes, instance_start)
    _save_master(entry)
    _shift_overrides(entry, shift, old_duration)
    if "assignees" in changes:
        entry.assignees.set(changes["assignees"])
        for override in entry.overrides.all():  # an assignment change for all reaches every instance
            override.assignees.set(changes["assignees"])
    _ensure_no_conflict([entry], force)
    _publish(entry, "updated", scope="all")
    return entry


def _update_single(entry: ScheduleEntry, original: datetime, changes: dict) -> ScheduleOverride:
    extra = set(changes) - SINGLE_FIELDS
    if extra:
        raise Problem(
            400,
            "VALIDATION_ERROR",
            "Invalid input",
            f"Only {', '.join(sorted(SINGLE_FIELDS))} can change for a single occurrence "
            f"(got {', '.join(sorted(extra))}).",
        )
    override = entry.overrides.filter(original_start=original).first()
    if override is None or override.cancelled:
        if override is None:
            override = ScheduleOverride(org_id=entry.org_id, master=entry, original_start=original)
        override.cancelled = False
        override.title, override.notes, override.status = entry.title, entry.notes, entry.status
        override.start, override.end = original, original + entry.duration
        fresh = True
    else:
        fresh = False
    for name in ("title", "notes", "status"):
        if name in changes:
            setattr(override, name, changes[name])
    if "start" in changes or "end" in changes:
        duration = override.end - override.start
        override.start = changes.get("start", override.start)
        override.end = changes.get("end", override.start + duration)
    if override.end <= override.start:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "end: End must be after start.")
    override.full_clean(exclude=["assignees", "master"])
    override.save()
    if "assignees" in changes:
        override.assignees.set(changes["assignees"])
    elif fresh:
        override.assignees.set(entry.assignees.all())
    return override


def _split(entry: ScheduleEntry, at: datetime, changes: dict) -> ScheduleEntry:
    """'This and future': the old series ends before `at`; a new one starts there with the
    changes and takes over the later overrides. COUNT is shared so the total is kept."""
    truncated = recurrence.truncate_before(entry.rrule, entry.start, entry.timezone, at)
    remainder = recurrence.remainder_from(entry.rrule, entry.start, entry.timezone, at)
    new = ScheduleEntry(
        org=entry.org,
        title=entry.title,
        notes=entry.notes,
        start=at,
        end=at + entry.duration,
        timezone=entry.timezone,
        status=entry.status,
        kind=entry.kind,
        incident=entry.incident,
        work_item_ref=entry.work_item_ref,
        private=entry.private,
        rrule=remainder,
        split_from=entry,
        created_by=entry.created_by,
    )
    assignees = list(entry.assignees.all())
    entry.rrule = truncated
    _save_master(entry)
    later = list(entry.overrides.filter(original_start__gte=at))
    old_duration = new.duration
    shift = _apply_to_master(new, changes, at)
    _save_master(new)
    new.assignees.set(changes.get("assignees", assignees))
    for override in later:
        override.master = new
        override.save(update_fields=["master", "updated_at"])
        if "assignees" in changes:
            override.assignees.set(changes["assignees"])
    _shift_overrides(new, shift, old_duration)
    return new


# --- delete --------------------------------------------------------------------------------


@transaction.atomic
def schedule_entry_delete(
    *, actor, entry: ScheduleEntry, instance_start: datetime | None = None, scope: str = "all"
) -> None:
    if scope not in SCOPES:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "scope must be single, future or all.")
    entry = _lock(entry)
    if entry.rrule and scope == "single":
        original = _require_occurrence(entry, instance_start)
        override, _ = ScheduleOverride.objects.get_or_create(
            master=entry, original_start=original, defaults={"org_id": entry.org_id, "cancelled": True}
        )
        override.cancelled, override.start, override.end = True, None, None
        override.save()
        override.assignees.clear()
        _publish(entry, "updated", scope="single", instance_id=recurrence.instance_id(entry.pk, original), deleted=True)
        return
    if entry.rrule and scope == "future":
        original = _require_occurrence(entry, instance_start)
        if original > entry.start:
            entry.rrule = recurrence.truncate_before(entry.rrule, entry.start, entry.timezone, original)
            _save_master(entry)
            entry.overrides.filter(original_start__gte=original).delete()
            _publish(entry, "updated", scope="future", ended_before=original)
            return
    data = event_data(entry, scope="all")
    org = entry.org
    entry.delete()
    publish_on_commit(org=org, type="schedule.entry.deleted", data=data)
