"""Every write on people's time: resources (locations, people, availability, slots) and
schedule entries. One import path for callers: `from apps.scheduling import services`."""

from apps.scheduling.services.entries import (
    CONFLICT_HORIZON,
    SCOPES,
    event_data,
    schedule_entry_create,
    schedule_entry_delete,
    schedule_entry_update,
)
from apps.scheduling.services.resources import (
    MAX_GENERATE_DAYS,
    availability_rule_create,
    availability_rule_delete,
    location_create,
    location_delete,
    location_update,
    person_create,
    person_update,
    rules_overlap,
    slot_seats_change,
    slots_generate,
    slots_generate_all,
)

__all__ = [
    "CONFLICT_HORIZON",
    "MAX_GENERATE_DAYS",
    "SCOPES",
    "availability_rule_create",
    "availability_rule_delete",
    "event_data",
    "location_create",
    "location_delete",
    "location_update",
    "person_create",
    "person_update",
    "rules_overlap",
    "schedule_entry_create",
    "schedule_entry_delete",
    "schedule_entry_update",
    "slot_seats_change",
    "slots_generate",
    "slots_generate_all",
]
