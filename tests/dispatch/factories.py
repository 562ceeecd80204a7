"""Responders, policies and assignments for the dispatch tests, plus the org-isolation
harness registrations of the dispatch models."""

from datetime import time, timedelta

from django.utils import timezone

from apps.dispatch import services
from apps.dispatch.models import Assignment, DispatchPolicy
from apps.orgs.models import Role
from apps.scheduling.models import AvailabilityRule, Location, Person, ScheduleEntry
from tests import tenancy
from tests.factories import MembershipFactory, UserFactory
from tests.incidents.factories import make_incident

BASE = (52.5200, 13.4050)  # Berlin


def make_responder(
    org, *, at=BASE, skills=(), on_duty="on_call", home=None, location=None, beacon=None, role=Role.MEMBER, name=None
) -> Person:
    """A responder: `at` is the work base (a Location); `home` an optional home position;
    `on_duty` "on_call" (an on-call entry around now), "availability" (an all-day rule) or None."""
    user = UserFactory(name=name) if name else UserFactory()
    membership = MembershipFactory(org=org, role=role, user=user, skills=list(skills))
    if location is None and at is not None:
        location = Location.objects.create(org=org, name=f"base {user.username}", timezone="UTC", lat=at[0], lng=at[1])
    elif location is None:
        location = Location.objects.create(org=org, name=f"base {user.username}", timezone="UTC")
    person = Person.objects.create(
        org=org,
        membership=membership,
        location=location,
        name=user.name,
        home_lat=home[0] if home else None,
        home_lng=home[1] if home else None,
    )
    if on_duty == "on_call":
        now = timezone.now()
        entry = ScheduleEntry.objects.create(
            org=org,
            title="on call",
            kind="on_call",
            start=now - timedelta(days=1),
            end=now + timedelta(days=2),
            timezone="UTC",
        )
        entry.assignees.set([membership])
    elif on_duty == "availability":
        AvailabilityRule.objects.create(
            org=org,
            location=location,
            person=person,
            rule_kind="WEEKLY",
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            start_time=time(0, 0),
            end_time=time(23, 59, 59),
        )
    return person


def make_policy(org, **fields) -> DispatchPolicy:
    defaults = {"name": "default", "steps": [{"type": "offer", "count": 1}], "repeat": 1, "ack_timeout_seconds": 60}
    return DispatchPolicy.objects.create(org=org, **{**defaults, **fields})


def offer(org, **incident_fields) -> Assignment:
    """An incident dispatched to a fresh responder: its assignment."""
    make_responder(org)
    incident = make_incident(org, **incident_fields)
    run, _ = services.dispatch_start(actor=None, incident=incident)
    return run.assignments.get()


@tenancy.register(Assignment)
def _assignment(org):
    return offer(org, title="Org A secret dispatch")


@tenancy.register(DispatchPolicy)
def _policy(org):
    return make_policy(org, name="org A secret policy")
