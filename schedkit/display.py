"""Times, names and labels as people read them: the one formatting helper used by page
templates (through the `schedkit_time` template library) and by emails.

Staff pages show the user's zone when they set one, else the org's; public pages and emails
show the customer's zone. 24 h clock everywhere."""

import zoneinfo
from datetime import datetime, tzinfo

from django.utils import timezone as dj_timezone

DEFAULT_ZONE = "UTC"

FORMATS = {
    "datetime": "%a %-d %b %Y, %H:%M",
    "date": "%a %-d %b %Y",
    "time": "%H:%M",
    "short": "%-d %b, %H:%M",
}


def zone(name: str | None) -> tzinfo | None:
    """A ZoneInfo for an IANA name, or None for a blank/unknown one."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def staff_zone(*, user=None, org=None) -> tzinfo:
    """The zone a staff page shows: the user's if they set one (not the UTC default), else the org's."""
    user_zone = getattr(user, "timezone", "") or ""
    if user_zone and user_zone != DEFAULT_ZONE and zone(user_zone):
        return zone(user_zone)
    return zone(getattr(org, "timezone", "")) or zoneinfo.ZoneInfo(DEFAULT_ZONE)


def customer_zone(name: str | None, *, fallback=None) -> tzinfo:
    """The zone a public page or email shows: the customer's, else the fallback (host/org), else UTC."""
    return (
        zone(name)
        or zone(getattr(fallback, "timezone", fallback) if fallback else None)
        or zoneinfo.ZoneInfo(DEFAULT_ZONE)
    )


def format_when(value: datetime | None, tz: tzinfo | str | None = None, style: str = "datetime") -> str:
    """`Wed 2 Dec 2026, 09:00 CET` in `tz` (default: the active zone). Blank for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(tz, str):
        tz = zone(tz)
    tz = tz or dj_timezone.get_current_timezone()
    if dj_timezone.is_naive(value):
        value = dj_timezone.make_aware(value, zoneinfo.ZoneInfo(DEFAULT_ZONE))
    local = value.astimezone(tz)
    text = local.strftime(FORMATS.get(style, style))
    if style in ("datetime", "time", "short"):
        text += f" {local.tzname()}"
    return text


def label(value) -> str:
    """`in_progress` → `In Progress` (as Django labels TextChoices): the readable form of a raw enum value."""
    return str(value or "").replace("_", " ").strip().title()


def person_name(user) -> str:
    if user is None:
        return ""
    return (getattr(user, "name", "") or "").strip() or getattr(user, "email", "") or str(user)


def activity_text(entry, names: dict[str, str]) -> str:
    """One readable activity line (without the actor): ids become names, enum values labels."""
    verb = entry.verb

    def who(ids: str) -> str:
        parts = [names.get(i.strip(), "a former member") for i in ids.split(",") if i.strip()]
        return ", ".join(parts) or "nobody"

    if verb == "assigned":
        text = f"assigned {who(entry.new)}"
        if entry.old:
            text += f" (was {who(entry.old)})"
        return text
    if verb == "transitioned":
        if not entry.old:
            return f"set status {label(entry.new)}"
        return f"changed status from {label(entry.old)} to {label(entry.new)}"
    if verb == "commented":
        return "commented"
    if verb == "created":
        return "opened the incident"
    if verb == "sla_breached":
        return "SLA breached"
    if verb == "updated" and entry.field:
        field = label(entry.field).lower()
        new = label(entry.new) if entry.field in ("priority", "status") else entry.new
        old = label(entry.old) if entry.field in ("priority", "status") else entry.old
        return f"changed {field}" + (f" from {old}" if old else "") + (f" to {new}" if new else "")
    return " ".join(p for p in (label(verb).lower(), entry.field, entry.new) if p)


def actor_name(entry) -> str:
    """The activity's actor: a person's name, else their label without the kind prefix."""
    if entry.actor_id:
        return person_name(entry.actor)
    raw = entry.actor_label or "system"
    kind, _, rest = raw.partition(":")
    if kind == "email":
        return rest
    if kind == "apikey":
        return "API key"
    return label(raw)
