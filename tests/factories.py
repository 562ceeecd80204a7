"""Test data in one place (factory_boy), plus the tenancy-harness registrations."""

import secrets

import factory

from apps.accounts.models import ApiKey, User
from apps.accounts.services import api_key_create
from apps.events.models import Event, WebhookDelivery, WebhookEndpoint
from apps.orgs.models import Invite, Membership, Org, Role, Team, TeamMember
from apps.orgs.tenancy import Actor
from tests import tenancy


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Faker("name")


class OrgFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Org

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.Sequence(lambda n: f"Org {n}")
    timezone = "Europe/Berlin"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    org = factory.SubFactory(OrgFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    org = factory.SubFactory(OrgFactory)
    slug = factory.Sequence(lambda n: f"team{n}")
    name = factory.Sequence(lambda n: f"Team {n}")


def actor_for(membership: Membership, api_key=None) -> Actor:
    return Actor(
        user=membership.user, org=membership.org, role=membership.role, membership_id=membership.pk, api_key=api_key
    )


# --- tenancy harness registrations: one per org-owned model an endpoint serves ---------------


@tenancy.register(Membership)
def _membership(org):
    return MembershipFactory(org=org)


@tenancy.register(Team)
def _team(org):
    return TeamFactory(org=org)


@tenancy.register(TeamMember, url_kwargs=lambda tm: {"team_slug": tm.team.slug})
def _team_member(org):
    team = TeamFactory(org=org)
    return TeamMember.objects.create(org=org, team=team, membership=MembershipFactory(org=org))


@tenancy.register(Invite)
def _invite(org):
    from datetime import timedelta

    from django.utils import timezone

    return Invite.objects.create(
        org=org,
        email="invitee@example.test",
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + timedelta(days=1),
    )


@tenancy.register(ApiKey)
def _api_key(org):
    membership = MembershipFactory(org=org, role=Role.MEMBER)
    return api_key_create(actor=actor_for(membership), name="harness")[0]


@tenancy.register(Event)
def _event(org):
    return Event.objects.create(org=org, type="test.harness", data={"secret": "org-a"})


@tenancy.register(WebhookEndpoint)
def _endpoint(org):
    return WebhookEndpoint.objects.create(org=org, url="http://127.0.0.1:9/hook", secret="whsec_c2VjcmV0c2VjcmV0")


@tenancy.register(WebhookDelivery)
def _delivery(org):
    event = Event.objects.create(org=org, type="booking.created", data={})
    endpoint = _endpoint(org)
    return WebhookDelivery.objects.create(org=org, event=event, endpoint=endpoint, url=endpoint.url)


# Each app registers its own models with the harness in tests/<app>/factories.py.
from tests.bookings import factories as _bookings_factories  # noqa: E402,F401
from tests.calendars import factories as _calendars_factories  # noqa: E402,F401
from tests.dispatch import factories as _dispatch_factories  # noqa: E402,F401
from tests.incidents import factories as _incidents_factories  # noqa: E402,F401
from tests.planning import factories as _planning_factories  # noqa: E402,F401
from tests.schedule import factories as _schedule_factories  # noqa: E402,F401
from tests.scheduling import factories as _scheduling_factories  # noqa: E402,F401
from tests.signals import factories as _signals_factories  # noqa: E402,F401
