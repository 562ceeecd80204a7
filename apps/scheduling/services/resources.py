"""Every scheduling write: locations, people, availability rules, slot generation."""

import zoneinfo
from collections import defaultdict
from datetime import date, timedelta

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from apps.orgs.models import Membership
from apps.orgs.tenancy import Actor
from apps.scheduling.availability import expand_day
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance
from schedkit.api.problems import Problem

MAX_GENERATE_DAYS = 92
Kind = AvailabilityRule.Kind


# --- locations and people -----------------------------------------------------------------


def location_create(*, actor, name: str, timezone_name: str = "UTC", **fields) -> Location:
    location = Location(org_id=actor.org_id, name=name, timezone=timezone_name, **fields)
    location.full_clean()
    location.save()
    return location


def location_update(*, actor, location: Location, **changes) -> Location:
    for field, value in changes.items():
        setattr(location, "timezone" if field == "timezone_name" else field, value)
    location.full_clean()
    location.save()
    return location


def location_delete(*, actor, location: Location) -> None:
    """Delete a location with its rules and free slots; one whose slots carry bookings stays."""
    try:
        with transaction.atomic():
            location.delete()
    except ProtectedError:
        raise Problem(
            409, "LOCATION_IN_USE", "Location has bookings", "Its slots carry bookings; cancel them first."
        ) from None


def person_create(*, actor, membership: Membership, location: Location | None = None, **fields) -> Person:
    if Person.objects.filter(membership=membership).exists():
        raise Problem(409, "PERSON_EXISTS", "Already a person", "This member is already schedulable.")
    person = Person(org_id=actor.org_id, membership=membership, location=location, **fields)
    if not person.name:
        person.name = membership.user.name or membership.user.username
    person.full_clean()
    person.save()
    return person


def person_update(*, actor, person: Person, **changes) -> Person:
    for field, value in changes.items():
        setattr(person, field, value)
    person.full_clean()
    person.save()
    return person


# --- availability rules -------------------------------------------------------------------


def _ranges_meet(a_from, a_to, b_from, b_to) -> bool:
    return (a_to is None or b_from is None or b_from <= a_to) and (b_to is None or a_from is None or a_from <= b_to)


def rules_overlap(a: AvailabilityRule, b: AvailabilityRule) -> bool:
    if a.rule_kind != b.rule_kind:
        return False  # EXCEPTION overrides DATE_RANGE overrides WEEKLY: layered, not overlapping
    a_to = a.valid_to or (a.valid_from if a.rule_kind == Kind.EXCEPTION else None)
    b_to = b.valid_to or (b.valid_from if b.rule_kind == Kind.EXCEPTION else None)
    if not _ranges_meet(a.valid_from, a_to, b.valid_from, b_to):
        return False
    if a.days_of_week and b.days_of_week and not set(a.days_of_week) & set(b.days_of_week):
        return False
    return a.start_time < b.end_time and b.start_time < a.end_time


def availability_rule_create(*, actor, location: Location, person: Person | None = None, **fields) -> AvailabilityRule:
    rule = AvailabilityRule(org_id=actor.org_id, location=location, person=person, **fields)
    rule.full_clean()
    with transaction.atomic():
        # Serialize rule writes per location so two overlapping rules cannot both pass the check.
        Location.objects.select_for_update().filter(pk=location.pk).first()
        siblings = AvailabilityRule.objects.filter(location=location, person=person, rule_kind=rule.rule_kind)
        clash = next((other for other in siblings if rules_overlap(rule, other)), None)
        if clash is not None:
            raise Problem(
                400,
                "RULE_OVERLAP",
                "Overlapping availability rule",
                f"This rule overlaps rule {clash.pk} ({clash.rule_kind} {clash.start_time:%H:%M}-"
                f"{clash.end_time:%H:%M}); change or delete that rule first.",
                conflicting_rule_id=str(clash.pk),
            )
        rule.save()
    return rule


def availability_rule_delete(*, actor, rule: AvailabilityRule) -> None:
    rule.delete()


# --- slot generation ---------------------------------------------------------------------


def _dates(date_from: date, date_to: date):
    day = date_from
    while day <= date_to:
        yield day
        day += timedelta(days=1)


def slots_generate(*, actor, location: Location, date_from: date, date_to: date, person: Person | None = None) -> dict:
    """Materialize the slots of a location (all its people, or one) for a date range.

    Idempotent: unique per (location, person, start), so a rerun creates nothing new. Slots
    the rules no longer produce are removed only while nothing was ever booked or held on
    them; a slot with bookings is always kept."""
    if date_to < date_from:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "date_to is before date_from.")
    if (date_to - date_from).days >= MAX_GENERATE_DAYS:
        raise Problem(400, "RANGE_TOO_LARGE", "Range too large", f"At most {MAX_GENERATE_DAYS} days per call.")
    rules = AvailabilityRule.objects.filter(location=location).select_related("person__location", "person__org")
    if person is not None:
        rules = rules.filter(person=person)
    groups: dict = defaultdict(list)
    for rule in rules:
        groups[rule.person_id].append(rule)
    in_range = SlotInstance.objects.filter(location=location, date__gte=date_from, date__lte=date_to)
    if person is not None:
        in_range = in_range.filter(person=person)
    for person_id in in_range.values_list("person_id", flat=True).distinct():
        groups.setdefault(person_id, [])  # slots whose rules are gone: cleaned up below
    people = {p.pk: p for p in Person.objects.filter(pk__in=[k for k in groups if k]).select_related("location", "org")}
    created = removed = kept = 0
    with transaction.atomic():
        for person_id, group in groups.items():
            tz = zoneinfo.ZoneInfo(people[person_id].tz_name if person_id else location.timezone)
            desired = {}
            for day in _dates(date_from, date_to):
                for start, end, capacity, rule in expand_day(group, day, tz):
                    desired.setdefault(start, (day, end, capacity, rule))
            existing = SlotInstance.objects.filter(
                location=location, person_id=person_id, date__gte=date_from, date__lte=date_to
            )
            have = set(existing.values_list("start_at", flat=True))
            new = [
                SlotInstance(
                    org_id=location.org_id,
                    location=location,
                    person_id=person_id,
                    rule=rule,
                    date=day,
                    start_at=start,
                    end_at=end,
                    capacity=capacity,
                )
                for start, (day, end, capacity, rule) in desired.items()
                if start not in have
            ]
            SlotInstance.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
            created += len(new)
            stale = existing.exclude(start_at__in=list(desired))
            removable = stale.filter(booked=0, hold=0, bookings__isnull=True)
            kept += stale.count() - removable.count()
            removed += removable.delete()[0]
    return {"created": created, "removed": removed, "kept_booked": kept}


def slots_generate_all(*, horizon_days: int = 28) -> int:
    """The hourly job: keep every location's slots materialized for the coming weeks."""
    today = timezone.now().date()
    total = 0
    for location in Location.objects.select_related("org").filter(org__is_active=True):
        actor = Actor(user=None, org=location.org)
        result = slots_generate(
            actor=actor, location=location, date_from=today, date_to=today + timedelta(days=horizon_days - 1)
        )
        total += result["created"]
    return total


# --- slot seats ----------------------------------------------------------------------------


def slot_seats_change(*, slot: SlotInstance, hold: int = 0, booked: int = 0) -> SlotInstance:
    """The only write of a slot's seat counters: apply the deltas to a slot row the caller
    has locked (select_for_update), never below zero, and refresh its status."""
    slot.hold = max(0, slot.hold + hold)
    slot.booked = max(0, slot.booked + booked)
    slot.refresh_status()
    slot.save(update_fields=["hold", "booked", "status", "updated_at"])
    return slot
