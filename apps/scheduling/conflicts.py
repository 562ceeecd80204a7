"""Assignee double-bookings, read from the one free/busy query: a candidate interval clashes
with another `work` entry instance (recurring ones expanded) or with anything a registered
busy source reports (bookings and live holds, …)."""

from datetime import datetime

from apps.orgs.models import Membership, TeamMember
from apps.scheduling.freebusy import Interval, busy_by_membership
from apps.scheduling.models import ScheduleEntry


def conflict_item(interval: Interval, assignee_id: str) -> dict:
    """One clash as the API shows it."""
    if interval.source == "entry":
        return {
            "kind": "schedule_entry",
            "id": interval.ref,
            "entry_id": interval.parent,
            "title": interval.title,
            "start": interval.start,
            "end": interval.end,
            "assignee_id": assignee_id,
        }
    return {
        "kind": interval.source if interval.source != "hold" else "booking",
        "id": interval.ref,
        "title": interval.title,
        "start": interval.start,
        "end": interval.end,
        "status": interval.status,
        "assignee_id": assignee_id,
    }


def entry_conflicts(*, org, candidates: list[tuple[datetime, datetime, set]], exclude: set | None = None) -> list[dict]:
    """Clashes of candidate (start, end, assignee ids) intervals with everyone's busy time.
    `exclude` holds instance ids or master ids being replaced."""
    if not candidates:
        return []
    people = set().union(*(c[2] for c in candidates))
    if not people:
        return []
    window_start = min(c[0] for c in candidates)
    window_end = max(c[1] for c in candidates)
    busy = busy_by_membership(
        org=org, start=window_start, end=window_end, membership_ids=people, exclude_refs=exclude or ()
    )
    clashes: dict[tuple, dict] = {}
    for start, end, who in candidates:
        for person in sorted(str(p) for p in who):
            for interval in busy.get(person, ()):
                if interval.start < end and interval.end > start:
                    clashes[(interval.ref, person)] = conflict_item(interval, person)
    return sorted(clashes.values(), key=lambda c: (c["start"], c["id"]))


def conflict_pairs(*, fetched_by, start: datetime, end: datetime, person=None, team=None) -> list[dict]:
    """Pairs of overlapping busy intervals per person in [start, end): entries (recurring ones
    expanded) and every busy source. Members see no private entry they are not assigned to."""
    org = fetched_by.org
    if person is not None:
        people = {str(person)}
    elif team is not None:
        people = {str(m) for m in TeamMember.objects.filter(team=team).values_list("membership_id", flat=True)}
    else:
        people = {str(m) for m in Membership.objects.for_actor(fetched_by).values_list("pk", flat=True)}
    busy = busy_by_membership(org=org, start=start, end=end, membership_ids=people)
    entry_ids = {i.parent for intervals in busy.values() for i in intervals if i.source == "entry"}
    readable = ScheduleEntry.objects.for_actor(fetched_by, "list").filter(pk__in=entry_ids)
    visible = {str(pk) for pk in readable.values_list("pk", flat=True)}
    results = []
    for key in sorted(busy):
        items = [
            conflict_item(i, key)
            for i in busy[key]
            if i.start < end and i.end > start and (i.source != "entry" or i.parent in visible)
        ]
        items.sort(key=lambda i: (i["start"], i["id"]))
        for index, a in enumerate(items):
            for b in items[index + 1 :]:
                if b["start"] >= a["end"]:
                    break
                results.append({"assignee_id": key, "a": a, "b": b})
    return results
