"""Factories and org-isolation harness registrations for the schedule app."""

from datetime import UTC, datetime, timedelta

from apps.orgs.models import Role
from apps.scheduling import ical, services
from apps.scheduling.models import ScheduleEntry, ScheduleFeed
from tests import tenancy
from tests.factories import MembershipFactory, actor_for


def make_entry(org, *, actor=None, title="Site visit", start=None, end=None, assignees=(), force=True, **kwargs):
    start = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    end = end or start + timedelta(hours=1)
    return services.schedule_entry_create(
        actor=actor, org=org, title=title, start=start, end=end, assignees=assignees, force=force, **kwargs
    )


@tenancy.register(ScheduleEntry)
def _entry(org):
    return make_entry(org, title="Org A secret entry", notes="secret", rrule="FREQ=WEEKLY;COUNT=3")


@tenancy.register(ScheduleFeed)
def _feed(org):
    member = MembershipFactory(org=org, role=Role.SCHEDULER)
    return ical.schedule_feed_create(actor=actor_for(member), membership=member)[0]
