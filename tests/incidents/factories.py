"""Factories and org-isolation harness registrations for the incidents app."""

import secrets

from apps.incidents import services
from apps.incidents.models import Activity, Incident, IntakeEndpoint, Priority
from apps.orgs.models import Role
from tests import tenancy
from tests.factories import MembershipFactory, actor_for


def make_incident(org, *, actor=None, title="Pump failure", priority=Priority.NORMAL, **kwargs) -> Incident:
    return services.incident_create(actor=actor, org=org, title=title, priority=priority, **kwargs)


@tenancy.register(Incident)
def _incident(org):
    return make_incident(org, title="Org A secret incident", description="secret")


@tenancy.register(IntakeEndpoint)
def _intake_endpoint(org):
    admin = MembershipFactory(org=org, role=Role.ADMIN)
    return services.intake_endpoint_create(actor=actor_for(admin), name=f"harness-{secrets.token_hex(3)}")[0]


@tenancy.register(Activity)
def _activity(org):
    return make_incident(org).activity.first()
