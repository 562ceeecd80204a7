"""People's time: the supply (locations, people, availability rules, slots) and the plan drawn
on it (schedule entries with recurrence, overrides, iCal feeds)."""

from apps.scheduling.models.entries import (
    MAX_DURATION,
    EntryKind,
    ScheduleEntry,
    ScheduleEntryQuerySet,
    ScheduleFeed,
    ScheduleOverride,
    Status,
)
from apps.scheduling.models.resources import AvailabilityRule, Location, Person, SlotInstance

__all__ = [
    "MAX_DURATION",
    "AvailabilityRule",
    "EntryKind",
    "Location",
    "Person",
    "ScheduleEntry",
    "ScheduleEntryQuerySet",
    "ScheduleFeed",
    "ScheduleOverride",
    "SlotInstance",
    "Status",
]
