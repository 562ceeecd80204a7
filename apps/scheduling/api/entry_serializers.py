from datetime import UTC

import orjson
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.orgs.models import validate_timezone
from apps.scheduling import recurrence
from apps.scheduling.models import ScheduleFeed, Status
from schedkit.api.serializers import StrictSerializer
from schedkit.cache import BoundedLRU


@extend_schema_field(
    {"type": "string", "pattern": "^(" + "|".join(Status.values) + ")$", "description": ", ".join(Status.values)}
)
class EntryStatusField(serializers.ChoiceField):
    """Documented as a pattern: an enum here would collide with incidents' `status` enum
    (until ENUM_NAME_OVERRIDES names this one)."""

    def __init__(self, **kwargs):
        super().__init__(choices=Status.choices, **kwargs)


def _dt(value):
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _assignee(membership) -> dict:
    user = membership.user
    return {"membership_id": str(membership.pk), "email": user.email, "name": user.name or user.email}


def render_entry(entry) -> dict:
    """A stored master."""
    assignees = getattr(entry, "assignee_list", None)
    if assignees is None:
        assignees = list(entry.assignees.select_related("user"))
    return {
        "id": str(entry.pk),
        "title": entry.title,
        "notes": entry.notes,
        "start": _dt(entry.start),
        "end": _dt(entry.end),
        "status": entry.status,
        "kind": entry.kind,
        "timezone": entry.timezone,
        "rrule": entry.rrule,
        "is_recurring": bool(entry.rrule),
        "series_end": _dt(entry.series_end),
        "assignees": [_assignee(m) for m in assignees],
        "incident_id": str(entry.incident_id) if entry.incident_id else None,
        "work_item_ref": entry.work_item_ref,
        "private": entry.private,
        "split_from": str(entry.split_from_id) if entry.split_from_id else None,
        "created_at": _dt(entry.created_at),
        "updated_at": _dt(entry.updated_at),
    }


def render_instance(instance) -> dict:
    """A concrete entry or a virtual occurrence of a series."""
    master = instance.master
    return {
        "id": instance.id,
        "entry_id": str(master.pk),
        "original_start": _dt(instance.original_start),
        "start": _dt(instance.start),
        "end": _dt(instance.end),
        "title": instance.title,
        "notes": instance.notes,
        "status": instance.status,
        "kind": instance.master.kind,
        "timezone": master.timezone,
        "rrule": master.rrule,
        "is_recurring": instance.is_recurring,
        "is_exception": instance.is_exception,
        "assignees": [_assignee(m) for m in instance.assignees],
        "incident_id": str(master.incident_id) if master.incident_id else None,
        "work_item_ref": master.work_item_ref,
        "private": master.private,
    }


INSTANCE_FIELDS = (
    "id",
    "entry_id",
    "original_start",
    "start",
    "end",
    "title",
    "notes",
    "status",
    "kind",
    "timezone",
    "rrule",
    "is_recurring",
    "is_exception",
    "assignees",
    "incident_id",
    "work_item_ref",
    "private",
)


def render_instances(instances, fields=None) -> list[dict]:
    """render_instance() for a whole window, each master's own keys (and its assignee list)
    rendered once, not once per occurrence; `fields` (a subset of INSTANCE_FIELDS) narrows
    every row to those keys."""
    per_master: dict = {}
    rows = []
    for instance in instances:
        master = instance.master
        shared = per_master.get(master.pk)
        if shared is None:
            shared = per_master[master.pk] = {
                "entry_id": str(master.pk),
                "kind": master.kind,
                "timezone": master.timezone,
                "rrule": master.rrule,
                "incident_id": str(master.incident_id) if master.incident_id else None,
                "work_item_ref": master.work_item_ref,
                "private": master.private,
                "assignees": [_assignee(m) for m in master.assignee_list]
                if getattr(master, "assignee_list", None) is not None
                else None,
            }
        if instance.override is None and shared["assignees"] is not None:
            assignees = shared["assignees"]  # the master's people: one list for every occurrence
        else:
            assignees = [_assignee(m) for m in instance.assignees]
        row = {
            "id": instance.id,
            "entry_id": shared["entry_id"],
            "original_start": _dt(instance.original_start),
            "start": _dt(instance.start),
            "end": _dt(instance.end),
            "title": instance.title,
            "notes": instance.notes,
            "status": instance.status,
            "kind": shared["kind"],
            "timezone": shared["timezone"],
            "rrule": shared["rrule"],
            "is_recurring": instance.original_start is not None,
            "is_exception": instance.override is not None,
            "assignees": assignees,
            "incident_id": shared["incident_id"],
            "work_item_ref": shared["work_item_ref"],
            "private": shared["private"],
        }
        rows.append(row if fields is None else {name: row[name] for name in fields})
    return rows


# --- the computed window, from per-master encoded rows ---------------------------------------
#
# A change anywhere in the org replaces its window version (window_cache), so every window is
# computed again after any change; most of its masters did not change. Each master's encoded
# rows are kept in the process under a key made of everything they are rendered from — the
# master's columns, its overrides near the window (columns and assignees), its assignees
# (membership id, email, name), the window and the fields — so a changed master, override or
# person gives a new key: nothing to invalidate, and a stale row cannot be served. The window
# is then stitched from the rows in (start, id) order, as render_instances() orders them.

_MASTER_ROWS_KEPT = 10_000  # ~ ten windows of 1,000 series, a few KB each
_master_rows = BoundedLRU(_MASTER_ROWS_KEPT)


def _people_key(people) -> tuple:
    return tuple((m.pk, m.user.email, m.user.name) for m in people)


def _master_key(master, window_start, window_end, fields) -> tuple:
    overrides = tuple((o.row, _people_key(o.assignee_list)) for o in master.near_overrides)
    return (master.row, overrides, _people_key(master.assignee_list), window_start, window_end, fields)


def _render_master_rows(master, window_start, window_end, fields) -> list[tuple]:
    """(start, id, encoded row, assignee ids) of each of the master's instances in the
    window: the rows render_instance() gives, `fields` narrowing them."""
    entry_id = str(master.pk)
    incident_id = str(master.incident_id) if master.incident_id else None
    shared = [_assignee(m) for m in master.assignee_list]
    shared_ids = frozenset(str(m.pk) for m in master.assignee_list)
    out = []
    for ident, original, start, end, override in recurrence.spans(
        master, master.near_overrides, window_start, window_end
    ):
        if override is None:
            title, notes, status, assignees, people = master.title, master.notes, master.status, shared, shared_ids
        else:
            title = override.title or master.title
            notes = override.notes if override.notes else master.notes
            status = override.status or master.status
            assignees = [_assignee(m) for m in override.assignee_list]
            people = frozenset(str(m.pk) for m in override.assignee_list)
        row = {
            "id": ident,
            "entry_id": entry_id,
            "original_start": _dt(original),
            "start": _dt(start),
            "end": _dt(end),
            "title": title,
            "notes": notes,
            "status": status,
            "kind": master.kind,
            "timezone": master.timezone,
            "rrule": master.rrule,
            "is_recurring": original is not None,
            "is_exception": override is not None,
            "assignees": assignees,
            "incident_id": incident_id,
            "work_item_ref": master.work_item_ref,
            "private": master.private,
        }
        if fields is not None:
            row = {name: row[name] for name in fields}
        out.append((start, ident, orjson.dumps(row), people))
    return out


def render_window(masters, window_start, window_end, fields=None, people=None) -> tuple[int, bytes]:
    """(count, the results array as encoded JSON) of a window over light masters
    (selectors.window_masters): render_instances() over schedule_instances(), row for row
    and byte for byte, with each unchanged master's rows taken from the process."""
    rows = []
    for master in masters:
        key = _master_key(master, window_start, window_end, fields)
        found = _master_rows.get(key)
        if found is None:
            found = _render_master_rows(master, window_start, window_end, fields)
            _master_rows.put(key, found)
        if people is None:
            rows.extend(found)
        else:
            rows.extend(row for row in found if row[3] & people)
    rows.sort(key=_by_start_and_id)
    return len(rows), b"[" + b",".join([row[2] for row in rows]) + b"]"


def _by_start_and_id(row: tuple) -> tuple:
    return row[0], row[1]


def forget_master_rows() -> None:
    """Empty the per-master rows (the bench's cold runs)."""
    _master_rows.clear()


class ScheduleAssigneeSerializer(serializers.Serializer):
    membership_id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()


class ScheduleEntrySerializer(serializers.Serializer):
    """Documentation of a stored master (GET without a window, POST/PATCH responses)."""

    id = serializers.UUIDField()
    title = serializers.CharField()
    notes = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = EntryStatusField()
    kind = serializers.CharField(help_text="work (occupies the assignees) or on_call (puts them on duty)")
    timezone = serializers.CharField()
    rrule = serializers.CharField()
    is_recurring = serializers.BooleanField()
    series_end = serializers.DateTimeField(allow_null=True)
    assignees = ScheduleAssigneeSerializer(many=True)
    incident_id = serializers.UUIDField(allow_null=True)
    work_item_ref = serializers.CharField()
    private = serializers.BooleanField()
    split_from = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ScheduleInstanceSerializer(serializers.Serializer):
    """Documentation of one instance in a window (GET ?start=&end=)."""

    id = serializers.CharField(help_text="<entry uuid> or <entry uuid>_<original start, YYYYMMDDTHHMMSSZ>")
    entry_id = serializers.UUIDField()
    original_start = serializers.DateTimeField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    title = serializers.CharField()
    notes = serializers.CharField()
    status = EntryStatusField()
    kind = serializers.CharField()
    timezone = serializers.CharField()
    rrule = serializers.CharField()
    is_recurring = serializers.BooleanField()
    is_exception = serializers.BooleanField()
    assignees = ScheduleAssigneeSerializer(many=True)
    incident_id = serializers.UUIDField(allow_null=True)
    work_item_ref = serializers.CharField()
    private = serializers.BooleanField()


class InstanceListSerializer(serializers.Serializer):
    results = ScheduleInstanceSerializer(many=True)
    count = serializers.IntegerField()


class PatternSerializer(StrictSerializer):
    frequency = serializers.ChoiceField(choices=["daily", "weekly", "monthly", "yearly"])
    interval = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    daysOfWeek = serializers.ListField(  # noqa: N815 - the published pattern's field name
        child=serializers.IntegerField(min_value=0, max_value=6), required=False
    )
    startDate = serializers.DateField(required=False)  # noqa: N815
    endDate = serializers.DateField(required=False)  # noqa: N815
    count = serializers.IntegerField(min_value=1, max_value=recurrence.MAX_COUNT, required=False)


class ScheduleEntryWriteSerializer(StrictSerializer):
    title = serializers.CharField(max_length=300)
    notes = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = EntryStatusField(required=False)
    kind = serializers.ChoiceField(
        choices=["work", "on_call"],
        required=False,
        help_text="work (default: occupies the assignees) or on_call (an on-call shift: on duty, not busy)",
    )
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    assignee_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    incident_id = serializers.UUIDField(required=False, allow_null=True)
    work_item_ref = serializers.CharField(max_length=200, required=False, allow_blank=True)
    private = serializers.BooleanField(required=False)
    rrule = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text="RFC 5545 RRULE value")
    recurrence = PatternSerializer(required=False, help_text="Alternative to rrule: the JSON pattern form")
    force = serializers.BooleanField(required=False, default=False, help_text="Save despite conflicts")

    def validate(self, attrs):
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end": "End must be after start."})
        if attrs.get("rrule") and attrs.get("recurrence"):
            raise serializers.ValidationError({"recurrence": "Give rrule or recurrence, not both."})
        return attrs


class ScheduleEntryUpdateSerializer(ScheduleEntryWriteSerializer):
    scope = serializers.ChoiceField(choices=["single", "future", "all"], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "force":
                field.required = False


class ScheduleFeedSerializer(serializers.ModelSerializer):
    membership_id = serializers.UUIDField(required=False, allow_null=True)
    team_id = serializers.UUIDField(required=False, allow_null=True)

    class Meta:
        model = ScheduleFeed
        fields = ["id", "membership_id", "team_id", "created_at"]
        read_only_fields = ["id", "created_at"]


class ScheduleFeedCreateSerializer(StrictSerializer):
    membership_id = serializers.UUIDField(required=False, help_text="A person's feed (default: your own)")
    team_id = serializers.UUIDField(required=False, help_text="A team's feed")

    def validate(self, attrs):
        if attrs.get("membership_id") and attrs.get("team_id"):
            raise serializers.ValidationError("Give membership_id or team_id, not both.")
        return attrs


class ConflictItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.CharField()
    title = serializers.CharField(required=False)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class ConflictSerializer(serializers.Serializer):
    assignee_id = serializers.UUIDField()
    a = ConflictItemSerializer()
    b = ConflictItemSerializer()
