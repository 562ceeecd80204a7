"""Factories and org-isolation harness registrations for the scheduling app."""

from datetime import time, timedelta

from django.utils import timezone

from apps.orgs.models import Role
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance
from tests import tenancy


def make_location(org, *, name="Main", tz="Europe/Berlin") -> Location:
    return Location.objects.create(org=org, name=name, timezone=tz)


def make_person(org, location=None, *, role=Role.MEMBER, username=None) -> Person:
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username=username) if username else UserFactory()
    membership = MembershipFactory(org=org, role=role, user=user)
    return Person.objects.create(org=org, membership=membership, location=location, name=user.name or user.username)


def make_rule(location, person=None, **fields) -> AvailabilityRule:
    defaults = {
        "rule_kind": "WEEKLY",
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "start_time": time(9),
        "end_time": time(17),
    }
    return AvailabilityRule.objects.create(org=location.org, location=location, person=person, **{**defaults, **fields})


def make_slot(location, person=None, *, capacity=1, start=None, minutes=30) -> SlotInstance:
    start = start or (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    return SlotInstance.objects.create(
        org=location.org,
        location=location,
        person=person,
        date=start.date(),
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        capacity=capacity,
    )


@tenancy.register(Location)
def _location(org):
    return make_location(org)


@tenancy.register(Person)
def _person(org):
    return make_person(org, make_location(org))


@tenancy.register(AvailabilityRule)
def _rule(org):
    return make_rule(make_location(org))


@tenancy.register(SlotInstance)
def _slot(org):
    return make_slot(make_location(org))
