"""The demo org: enough of everything that a newcomer's first `make run` shows the product —
a populated board and war room, a live map, a calendar of recurring shifts and a bookable
public page. Built through the apps' own services; every step is idempotent (it looks for
what it made before), so `seed_demo` can run on every start.

Only `seed_demo` calls this, and only on an explicit opt-in (the embedded default, or
SEED_DEMO=1): it creates a staff owner and an API key."""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiKey, User
from apps.accounts.services import api_key_create
from apps.bookings.models import EventType
from apps.bookings.services import event_type_create
from apps.incidents import services as incidents
from apps.incidents.models import Incident, IntakeEndpoint, Priority, Source, Status
from apps.orgs import services as orgs
from apps.orgs.models import Membership, Org, Role, Team
from apps.orgs.tenancy import Actor
from apps.scheduling.models import AvailabilityRule, Location, Person, ScheduleEntry
from apps.scheduling.services import (
    availability_rule_create,
    location_create,
    person_create,
    schedule_entry_create,
    slots_generate,
)
from apps.signals import services as signals
from apps.signals.models import Beacon
from apps.signals.selectors import live_positions

DEMO_ORG = "demo"
DEMO_DOMAIN = "demo.schedkit.local"
TZ = "Europe/Berlin"
SLOT_DAYS = 14  # materialized slots ahead (the hourly job keeps 28)
SHIFT_WEEKS = 6  # recurring on-call entries run this far ahead

LOCATIONS = [
    # name, address, lat, lng
    ("Mitte Station", "Alexanderplatz 1, 10178 Berlin", 52.521918, 13.413215),
    ("Kreuzberg Depot", "Skalitzer Str. 80, 10997 Berlin", 52.499800, 13.426100),
    ("Potsdam Yard", "Friedrich-Engels-Str. 99, 14473 Potsdam", 52.391700, 13.066700),
]

# username, name, location index, skills, home offset (deg lat, deg lng); the role users come first.
PEOPLE = [
    ("scheduler", "Sam Scheduler", 0, ["dispatch", "first-aid"], (0.010, -0.012)),
    ("member", "Mia Member", 0, ["first-aid", "driver"], (-0.008, 0.015)),
    ("lena-vogel", "Lena Vogel", 0, ["electrical", "first-aid", "german"], (0.014, 0.020)),
    ("jonas-weber", "Jonas Weber", 0, ["hvac", "driver"], (-0.018, -0.006)),
    ("aylin-demir", "Aylin Demir", 0, ["it", "network", "turkish"], (0.004, 0.030)),
    ("noah-schulz", "Noah Schulz", 1, ["first-aid", "driver", "english"], (0.012, -0.010)),
    ("emma-fischer", "Emma Fischer", 1, ["electrical", "hvac"], (-0.010, 0.018)),
    ("leon-wagner", "Leon Wagner", 1, ["plumbing", "driver"], (0.020, 0.004)),
    ("sofia-rossi", "Sofia Rossi", 1, ["it", "italian", "first-aid"], (-0.015, -0.020)),
    ("ben-hoffmann", "Ben Hoffmann", 2, ["security", "driver"], (0.010, 0.025)),
    ("clara-koch", "Clara Koch", 2, ["first-aid", "paramedic"], (-0.012, -0.015)),
    ("malik-osei", "Malik Osei", 2, ["electrical", "english", "french"], (0.018, -0.022)),
]
TEAM_MEMBERS = ("scheduler", "member", "noah-schulz", "clara-koch")  # the night shift (bookable team)
PERSON_EVENT = ("lena-vogel", "site-visit", "Site visit with an electrician", 45)
TEAM_EVENT = ("night-shift", "dispatch", "Dispatch a responder", 30)

# title, priority, status, minutes ago, location index, offset (lat, lng), assignee usernames
INCIDENTS = [
    ("Power outage, Alexanderplatz U-Bahn", Priority.URGENT, Status.OPEN, 50, 0, (0.001, 0.002), []),  # near breach
    ("Gas smell reported, Oranienstraße", Priority.HIGH, Status.OPEN, 300, 1, (0.003, -0.004), []),  # breached
    ("Elevator stuck, Potsdam Hbf", Priority.URGENT, Status.IN_PROGRESS, 12, 2, (0.002, 0.001), ["clara-koch"]),
    ("Flooded basement, Wrangelkiez", Priority.HIGH, Status.IN_PROGRESS, 70, 1, (-0.004, 0.006), ["leon-wagner"]),
    ("Network switch down, Mitte office", Priority.NORMAL, Status.OPEN, 180, 0, (-0.003, -0.005), []),
    ("Broken street light, Karl-Marx-Allee", Priority.LOW, Status.OPEN, 600, 0, (0.002, 0.020), []),
    (
        "HVAC noise complaint, Görlitzer Park",
        Priority.NORMAL,
        Status.RESOLVED,
        900,
        1,
        (-0.002, 0.010),
        ["jonas-weber"],
    ),
    ("Graffiti on depot gate", Priority.LOW, Status.OPEN, 1500, 2, (0.001, -0.003), []),
]
BEACONS = ("noah-schulz", "clara-koch", "ben-hoffmann")  # responders out in the field


@dataclass
class DemoResult:
    org: Org
    api_key: str | None = None
    intake_url: str | None = None
    created: list[str] = field(default_factory=list)


def _user(email: str, username: str, name: str, *, staff: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        make = User.objects.create_superuser if staff else User.objects.create_user
        user = make(email, username=username, name=name)
    return user


def seed(*, public_base_url: str) -> DemoResult:
    with transaction.atomic():
        owner = _user(f"owner@{DEMO_DOMAIN}", "owner", "Olivia Owner", staff=True)
        org = Org.objects.filter(slug=DEMO_ORG).first() or orgs.org_create(
            user=owner, slug=DEMO_ORG, name="Demo Response", timezone_name=TZ
        )
        actor = Actor(user=owner, org=org, role=Role.OWNER, membership_id=_membership(org, owner, Role.OWNER).pk)
        result = DemoResult(org=org)
        for role in Role.values:
            if role != Role.OWNER:
                _membership(org, _user(f"{role}@{DEMO_DOMAIN}", role, f"{role.title()} Demo"), role)
        locations = _locations(actor, result)
        people = _people(actor, org, locations, result)
        team = _team(actor, org, people)
        _event_types(actor, org, people, team, locations, result)
        _shifts(actor, org, people, result)
        _incidents(actor, org, people, result)
        result.intake_url = _intake(actor, org, public_base_url, result)
        if not ApiKey.objects.filter(org=org, user=owner, name="demo", revoked_at__isnull=True).exists():
            result.api_key = api_key_create(actor=actor, name="demo")[1]
    # Slots and beacons after the commit: slots_generate is idempotent, pings go to the cache.
    today = timezone.now().astimezone(ZoneInfo(TZ)).date()
    for location in locations:
        slots_generate(actor=actor, location=location, date_from=today, date_to=today + timedelta(days=SLOT_DAYS - 1))
    beacons_ping(org)
    return result


def _dec(degrees: float) -> Decimal:
    return Decimal(f"{degrees:.6f}")


def _membership(org: Org, user: User, role: str) -> Membership:
    return Membership.objects.get_or_create(org=org, user=user, defaults={"role": role})[0]


def _locations(actor, result) -> list[Location]:
    found = []
    for name, address, lat, lng in LOCATIONS:
        location = Location.objects.filter(org_id=actor.org_id, name=name).first()
        if location is None:
            location = location_create(
                actor=actor, name=name, timezone_name=TZ, address=address, lat=_dec(lat), lng=_dec(lng)
            )
            result.created.append(f"location {name}")
        found.append(location)
    return found


def _people(actor, org, locations, result) -> dict[str, Person]:
    people = {}
    for username, name, where, skills, (dlat, dlng) in PEOPLE:
        email = f"{username}@{DEMO_DOMAIN}"
        membership = _membership(org, _user(email, username, name), Role.MEMBER)
        if membership.skills != skills:
            orgs.membership_update(actor=actor, membership=membership, skills=skills)
        location = locations[where]
        person = Person.objects.filter(membership=membership).first()
        if person is None:
            person = person_create(
                actor=actor,
                membership=membership,
                location=location,
                name=name,
                home_lat=_dec(float(location.lat) + dlat),
                home_lng=_dec(float(location.lng) + dlng),
            )
            result.created.append(f"person {name}")
        if not AvailabilityRule.objects.filter(person=person).exists():
            # Weekdays, staggered: early and late starters, so the team page always has someone.
            start = time(7) if len(people) % 2 else time(9)
            availability_rule_create(
                actor=actor,
                location=location,
                person=person,
                rule_kind=AvailabilityRule.Kind.WEEKLY,
                days_of_week=[1, 2, 3, 4, 5],
                start_time=start,
                end_time=time(start.hour + 8),
                slot_granularity_minutes=30,
                slot_duration_minutes=30,
            )
        people[username] = person
    return people


def _team(actor, org, people) -> Team:
    team = Team.objects.filter(org=org, slug="night-shift").first() or orgs.team_create(
        actor=actor, slug="night-shift", name="Night Shift"
    )
    for username in TEAM_MEMBERS:
        membership = people[username].membership
        if not team.team_members.filter(membership=membership).exists():
            orgs.team_member_add(actor=actor, team=team, membership=membership)
    return team


def _event_types(actor, org, people, team, locations, result) -> None:
    username, slug, title, minutes = PERSON_EVENT
    person = people[username]
    if not EventType.objects.filter(person=person, slug=slug).exists():
        event_type_create(
            actor=actor, person=person, slug=slug, title=title, duration_minutes=minutes, location=person.location
        )
        result.created.append(f"event type /book/{username}/{slug}")
    team_slug, slug, title, minutes = TEAM_EVENT
    if not EventType.objects.filter(team=team, slug=slug).exists():
        event_type_create(actor=actor, team=team, slug=slug, title=title, duration_minutes=minutes)
        result.created.append(f"event type /book/{org.slug}/{team_slug}/{slug}")


def _shifts(actor, org, people, result) -> None:
    """Recurring on-call entries from today for SHIFT_WEEKS weeks, in Berlin wall time."""
    tz = ZoneInfo(TZ)
    today = timezone.now().astimezone(tz).date()
    until = (today + timedelta(weeks=SHIFT_WEEKS)).strftime("%Y%m%dT235959Z")
    m = {u: p.membership for u, p in people.items()}
    manager = Membership.objects.get(org=org, user__email=f"manager@{DEMO_DOMAIN}")
    shifts = [
        ("Early shift · Mitte", time(6), 8, "FREQ=DAILY", [m["lena-vogel"], m["jonas-weber"]]),
        ("Late shift · Mitte", time(14), 8, "FREQ=DAILY", [m["aylin-demir"], m["sofia-rossi"]]),
        ("Night on-call", time(22), 8, "FREQ=DAILY", [m["noah-schulz"], m["clara-koch"]]),
        ("Weekend standby · Potsdam", time(8), 12, "FREQ=WEEKLY;BYDAY=SA,SU", [m["ben-hoffmann"], m["malik-osei"]]),
        ("Kreuzberg field crew", time(8), 6, "FREQ=WEEKLY;BYDAY=MO,WE,FR", [m["emma-fischer"], m["leon-wagner"]]),
        ("Dispatch desk", time(8), 8, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", [m["scheduler"], m["member"]]),
        ("Weekly ops review", time(16, 30), 1, "FREQ=WEEKLY;BYDAY=FR", [manager]),
    ]
    for title, start_time, hours, rule, assignees in shifts:
        if ScheduleEntry.objects.filter(org=org, title=title).exists():
            continue
        start = datetime.combine(today, start_time, tzinfo=tz)
        schedule_entry_create(
            actor=actor,
            org=org,
            title=title,
            start=start.astimezone(UTC),
            end=(start + timedelta(hours=hours)).astimezone(UTC),
            timezone=TZ,
            assignees=assignees,
            rrule=f"{rule};UNTIL={until}",
            force=True,  # a demo; the calendar still shows any clash
        )
        result.created.append(f"schedule {title}")


def _incidents(actor, org, people, result) -> None:
    """One of every priority and then some, around the locations; the first is about to
    breach its SLA (50 of 60 minutes gone), the second breached an hour ago."""
    now = timezone.now()
    for title, priority, status, minutes_ago, where, (dlat, dlng), assignees in INCIDENTS:
        if Incident.objects.filter(org=org, title=title).exists():
            continue
        name, _, lat, lng = LOCATIONS[where]
        created_at = now - timedelta(minutes=minutes_ago)
        previous, incidents.clock.now = incidents.clock.now, lambda at=created_at: at
        try:  # the incident's own clock, so its SLA window starts in the past
            incident = incidents.incident_create(
                actor=actor,
                org=org,
                title=title,
                priority=priority,
                source=Source.ALERT if priority == Priority.URGENT else Source.API,
                lat=round(lat + dlat, 6),
                lng=round(lng + dlng, 6),
                location_name=name,
                assignees=[people[u].membership for u in assignees],
            )
        finally:
            incidents.clock.now = previous
        if status == Status.IN_PROGRESS:
            incidents.incident_transition(actor=actor, incident=incident, to=Status.IN_PROGRESS)
        elif status == Status.RESOLVED:
            incidents.incident_transition(actor=actor, incident=incident, to=Status.RESOLVED, note="Fixed on site.")
        result.created.append(f"incident {title}")
    # The breached one is marked (and its admins emailed) by the minutely SLA scan.


def _intake(actor, org, public_base_url: str, result) -> str | None:
    if IntakeEndpoint.objects.filter(org=org, name="Monitoring (demo)").exists():
        return None
    _, raw = incidents.intake_endpoint_create(actor=actor, name="Monitoring (demo)", default_priority=Priority.HIGH)
    result.created.append("intake endpoint")
    return f"{public_base_url}/v1/intake/{raw}"


def beacons_ping(org: Org, *, rng: random.Random | None = None) -> int:
    """Ping the demo responders' beacons near their homes (a small random walk): the first
    ping starts a beacon, later ones only move it on the live map."""
    rng = rng or random.Random()
    pinged = 0
    people = Person.objects.filter(org=org, membership__user__username__in=BEACONS).select_related("membership__user")
    for person in people:
        membership = person.membership
        actor = Actor(user=membership.user, org=org, role=membership.role, membership_id=membership.pk)
        live = live_positions(Beacon.objects.active().filter(org=org, membership=membership))
        here = next(iter(live.values()), None)  # where it is now, if anywhere
        lat = (here or {}).get("lat") or float(person.home_lat)
        lng = (here or {}).get("lng") or float(person.home_lng)
        signals.beacon_ping(
            actor=actor,
            lat=round(lat + rng.uniform(-0.0015, 0.0015), 6),
            lng=round(lng + rng.uniform(-0.0025, 0.0025), 6),
            accuracy_m=rng.choice([5.0, 8.0, 12.0]),
            heading=float(rng.randrange(0, 360)),
            speed=round(rng.uniform(0, 12), 1),
        )
        pinged += 1
    return pinged


def tour(org: Org, base_url: str) -> list[tuple[str, str]]:
    """(what, URL) pairs for the start banner: real handles and a real status token."""
    day = demo_day().isoformat()
    username, slug, _, _ = PERSON_EVENT
    team_slug, team_event, _, _ = TEAM_EVENT
    incident = Incident.objects.filter(org=org, title=INCIDENTS[0][0]).first()
    links = [
        ("dispatcher board", "/incidents/"),
        ("war room", "/incidents/war-room/"),
        ("live map", "/signals/map/"),
        ("calendar", "/schedule/"),
        ("public booking page", f"/book/{username}/{slug}?date={day}"),
        ("team booking page", f"/book/{org.slug}/{team_slug}/{team_event}?date={day}"),
    ]
    if incident is not None:
        links.append(("public status page", f"/status/{incident.customer_token}"))
    links += [("API docs", "/docs"), ("Django admin", "/admin/")]
    return [(what, f"{base_url}{path}") for what, path in links]


def demo_day(today: date | None = None) -> date:
    """The first working day from today (public booking links point at a day with slots)."""
    day = (today or timezone.now().astimezone(ZoneInfo(TZ)).date()) + timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day
