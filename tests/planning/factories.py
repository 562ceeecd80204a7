"""Planning test data and the org-isolation harness registrations."""

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.incidents.models import Priority
from apps.incidents.services import incident_create
from apps.orgs.models import Role
from apps.planning.models import DailySchedule, OptimizationRun, ScheduleConflict, ScheduleRequest, WorkRequirement
from apps.scheduling.models import AvailabilityRule, Location, Person
from tests import tenancy
from tests.factories import MembershipFactory, UserFactory

BERLIN = ZoneInfo("Europe/Berlin")


def tomorrow(org=None):
    return (timezone.now().astimezone(ZoneInfo(org.timezone if org else "Europe/Berlin")) + timedelta(days=1)).date()


def at(day, hour, minute=0, tz=BERLIN) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def make_site(org, name="Depot", lat=52.52, lng=13.40) -> Location:
    return Location.objects.create(org=org, name=name, timezone="Europe/Berlin", lat=lat, lng=lng)


def make_worker(org, site=None, *, skills=(), hours=(8, 17), role=Role.MEMBER, home=None) -> Person:
    """A person with skills, a home position and a weekly availability rule every day."""
    site = site or make_site(org)
    user = UserFactory()
    membership = MembershipFactory(org=org, user=user, role=role, skills=list(skills))
    home = home or (float(site.lat), float(site.lng))
    person = Person.objects.create(
        org=org, membership=membership, location=site, name=user.name, home_lat=home[0], home_lng=home[1]
    )
    AvailabilityRule.objects.create(
        org=org,
        location=site,
        person=person,
        rule_kind="WEEKLY",
        days_of_week=[1, 2, 3, 4, 5, 6, 7],
        start_time=time(hours[0]),
        end_time=time(hours[1]),
    )
    return person


def make_incident(org, *, title="Leak", priority=Priority.LOW, lat=52.53, lng=13.41, skills=(), minutes=60, **req):
    """An open incident (low priority: its 48 h SLA reaches tomorrow), with a planning requirement."""
    incident = incident_create(
        actor=None, org=org, title=title, priority=priority, lat=lat, lng=lng, location_name=req.pop("region", "")
    )
    WorkRequirement.objects.create(org=org, incident=incident, skills=list(skills), duration_minutes=minutes, **req)
    return incident


@tenancy.register(DailySchedule, url_kwargs=lambda s: {"assignment_id": str(uuid.uuid4())})
def _schedule(org):
    return DailySchedule.objects.create(org=org, date=tomorrow(org))


@tenancy.register(ScheduleRequest)
def _request(org):
    return ScheduleRequest.objects.create(
        org=org, date=tomorrow(org), requested_by_label="harness", constraints={"secret": "org-a"}
    )


@tenancy.register(OptimizationRun)
def _run(org):
    return OptimizationRun.objects.create(org=org, date=tomorrow(org), algorithm="greedy", started_at=timezone.now())


@tenancy.register(ScheduleConflict)
def _conflict(org):
    schedule = DailySchedule.objects.create(org=org, date=tomorrow(org) + timedelta(days=3))
    return ScheduleConflict.objects.create(org=org, schedule=schedule, type="over_capacity", details={"secret": 1})


@tenancy.register(WorkRequirement)
def _requirement(org):
    return make_incident(org) and WorkRequirement.objects.filter(org=org).first()
