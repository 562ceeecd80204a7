import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey, User
from apps.bookings.models import EventType
from apps.demo.tasks import demo_beacons
from apps.incidents.models import Incident, IntakeEndpoint, Priority
from apps.orgs.models import Membership, Org, Role, Team
from apps.scheduling.models import AvailabilityRule, Location, Person, ScheduleEntry, SlotInstance
from apps.signals.models import Beacon
from apps.signals.selectors import live_positions

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_opt_in(settings):
    settings.SEED_DEMO = True  # the suite runs the production topology: seed_demo needs the opt-in


def test_seed_demo_creates_one_user_per_role_and_prints_the_key_once(demo_opt_in):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    key = re.search(r"(sk_live_\S+)", out.getvalue()).group(1)
    org = Org.objects.get(slug="demo")
    roles = set(Membership.objects.filter(org=org).values_list("role", flat=True))
    assert roles == set(Role.values)
    assert Team.objects.filter(org=org, slug="night-shift").exists()
    assert User.objects.get(email="owner@demo.schedkit.local").is_staff
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/v1/orgs/demo/members").json()["results"]
    counts = _demo_counts(org)
    again = StringIO()
    call_command("seed_demo", stdout=again)  # idempotent, and the secret is not shown again
    assert "sk_live_" not in again.getvalue().replace("create_api_key", "")
    assert ".venv/bin/python manage.py create_api_key" in again.getvalue()
    assert _demo_counts(org) == counts and ApiKey.objects.count() == 1


def _demo_counts(org) -> dict:
    models = (Membership, Location, Person, AvailabilityRule, ScheduleEntry, EventType, Incident, IntakeEndpoint)
    return {m.__name__: m.objects.filter(org=org).count() for m in models} | {"beacons": Beacon.objects.count()}


def test_seed_demo_shows_the_product(demo_opt_in):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    org = Org.objects.get(slug="demo")
    text = out.getvalue()

    locations = Location.objects.filter(org=org)
    assert 2 <= locations.count() <= 3
    assert all(loc.lat and loc.lng and loc.timezone == "Europe/Berlin" for loc in locations)
    assert all(52.2 < float(loc.lat) < 52.7 and 12.9 < float(loc.lng) < 13.8 for loc in locations)  # Berlin area
    people = Person.objects.filter(org=org).select_related("membership")
    assert people.count() >= 12
    assert all(p.membership.skills and p.home_lat is not None and p.home_lng is not None for p in people)
    assert AvailabilityRule.objects.filter(org=org, rule_kind="WEEKLY").count() >= 12
    assert SlotInstance.objects.filter(org=org).exists()

    entries = ScheduleEntry.objects.filter(org=org)
    assert entries.count() >= 3 and all(e.rrule and e.assignees.exists() for e in entries)
    start, end = timezone.now(), timezone.now() + timedelta(days=14)
    scheduler = APIClient()
    scheduler.force_login(User.objects.get(email="scheduler@demo.schedkit.local"))
    instances = scheduler.get(f"/v1/schedule-entries?start={start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}")
    assert instances.status_code == 200, instances.content
    assert len(instances.json()["results"]) >= 20  # recurring shifts for the coming weeks

    # The banner's booking pages are real and have slots.
    urls = dict(re.findall(r"^  (public booking page|team booking page|public status page)\s+(\S+)$", text, re.M))
    person_page = urls["public booking page"].split("8000", 1)[-1]
    _, _, username, event_slug = person_page.split("?")[0].split("/")
    day = person_page.split("date=")[1]
    slots = APIClient().get(f"/v1/slots/{username}/{event_slug}?date={day}").json()["slots"]
    assert slots, "the demo's person event type has no slots on the advertised day"
    team_page = urls["team booking page"].split("8000", 1)[-1].split("?")[0]
    _, _, org_slug, team_slug, team_event = team_page.split("/")
    assert APIClient().get(f"/v1/slots/{org_slug}/{team_slug}/{team_event}?date={day}").json()["slots"]
    assert Client().get(person_page).status_code == 200 and Client().get(team_page).status_code == 200
    assert Client().get(urls["public status page"].split("8000", 1)[-1]).status_code == 200

    incidents = Incident.objects.filter(org=org)
    assert {i.priority for i in incidents} == set(Priority.values)
    assert all(i.lat is not None and i.lng is not None for i in incidents)
    now = timezone.now()
    statuses = [i.sla_status_at(now) for i in incidents]
    assert "at_risk" in statuses and "breached" in statuses
    assert IntakeEndpoint.objects.filter(org=org, active=True).exists() and "/v1/intake/in_" in text

    active = Beacon.objects.filter(org=org, stopped_at__isnull=True)
    assert active.count() >= 2
    positions = live_positions(active)
    assert len(positions) == active.count()
    before = {pk: (p["lat"], p["lng"]) for pk, p in positions.items()}
    assert demo_beacons() == active.count()  # the embedded default's beat keeps them moving
    after = {pk: (p["lat"], p["lng"]) for pk, p in live_positions(active).items()}
    assert after.keys() == before.keys() and after != before
    assert Beacon.objects.filter(org=org).count() == active.count(), "later pings start no new beacon"


def test_seed_demo_needs_the_opt_in_outside_the_embedded_default(settings):
    settings.SEED_DEMO = False
    with pytest.raises(CommandError, match="SEED_DEMO=1"):
        call_command("seed_demo")
    assert not User.objects.filter(email="owner@demo.schedkit.local").exists()
    assert not ApiKey.objects.exists()


def test_create_api_key(org, owner):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "--email", owner.user.email.upper(), "--org", org.slug, stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("sk_live_")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/v1/auth/me").json()["email"] == owner.user.email
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", "nobody@example.test", "--org", org.slug)
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", owner.user.email, "--org", "not-mine")
