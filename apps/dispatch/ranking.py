"""Who should go: candidates for an incident, their scores and why the others were left out.

On duty and busy come from the time model (`apps.scheduling.freebusy.free_busy`), never from
here. The score is a cost — lower is better — in minutes:

    travel_minutes + LOAD_MINUTES × active assignments − IDLE_BONUS × min(idle, IDLE_CAP) / IDLE_CAP

so with equal load and idle time the nearer responder wins, a loaded one yields to a free
one 30 minutes further away, and someone not sent for hours gets a small edge. Ties are
broken by the person's id (stable). The whole ranking is a fixed number of queries and one
cache round trip, whatever the number of candidates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.db.models import Count, Max, Q
from django.db.models.base import ModelState

from apps.dispatch.models import ACTIVE_STATES, Assignment, DispatchPolicy
from apps.incidents.models import Incident
from apps.orgs.models import Team
from apps.scheduling.freebusy import free_busy
from apps.scheduling.models import Location, Person
from apps.signals.models import Beacon
from apps.signals.selectors import live_positions
from schedkit.db import id_set

LOAD_MINUTES = 30.0
IDLE_BONUS = 10.0
IDLE_CAP = timedelta(hours=8)
#: "busy now" looks at this much of the future (a booking starting in a minute counts).
BUSY_WINDOW = timedelta(minutes=1)


def busy_window(now: datetime) -> tuple[datetime, datetime]:
    """The free/busy window asked for the checks at `now` (on duty at `now`, busy in [now,
    now + BUSY_WINDOW)): aligned to the minute and covering [now, now + BUSY_WINDOW), so the
    rankings of one minute ask the same window and share free/busy's cached stable part
    (the checks look only at `now` and that span: a wider window does not change them)."""
    start = now.replace(second=0, microsecond=0)
    return start, start + BUSY_WINDOW + timedelta(minutes=1)


EARTH_RADIUS_KM = 6371.0088


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def travel_minutes(origin: tuple[float, float], destination: tuple[float, float], *, speed_kmh: float) -> float:
    """The one place travel time is estimated: straight line at a constant speed. Replace
    this function (road network, ETA service) and nothing else changes."""
    return haversine_km(origin, destination) / speed_kmh * 60.0


@dataclass
class Candidate:
    #: A light `Person` row (`_light_people`): its own columns, org and location attached,
    #: `created_at`/`updated_at` deferred; `person.membership` is a query, so the offer path
    #: locks and loads the one chosen person as a full model.
    person: Person
    name: str = ""
    excluded: list[str] = field(default_factory=list)
    score: float | None = None
    parts: dict = field(default_factory=dict)
    position: tuple[float, float] | None = None
    position_source: str = ""
    missing_skills: list[str] = field(default_factory=list)
    active_assignments: int = 0

    @property
    def eligible(self) -> bool:
        return not self.excluded

    def as_json(self) -> dict:
        return {
            "person_id": str(self.person.pk),
            "membership_id": str(self.person.membership_id),
            "name": self.name,
            "eligible": self.eligible,
            "score": None if self.score is None else round(self.score, 3),
            "parts": self.parts,
            "excluded": self.excluded,
            "missing_skills": self.missing_skills,
            "position": None if self.position is None else {"lat": self.position[0], "lng": self.position[1]},
            "position_source": self.position_source or None,
        }


def _point(lat, lng) -> tuple[float, float] | None:
    if lat is None or lng is None:
        return None
    return float(lat), float(lng)


#: Columns of the candidate models no caller reads: timestamps and the user's credentials.
_UNREAD = (
    "created_at",
    "updated_at",
    "membership__created_at",
    "membership__updated_at",
    "membership__user__password",
    "membership__user__last_login",
    "membership__user__date_joined",
    "location__created_at",
    "location__updated_at",
    "location__address",
)


def candidates_queryset(*, org, team: Team | None = None):
    """The candidates as `Person` models (with membership, user and location): for callers
    that want models; the ranking itself reads `_candidate_rows`."""
    people = (
        Person.objects.filter(org=org, active=True, membership__active=True)
        .select_related("membership__user", "location")
        .defer(*_UNREAD)
        .order_by("id")
    )
    if team is not None:
        people = people.filter(
            membership__team_memberships__team=team, membership__team_memberships__active=True
        ).distinct()
    return people


#: The Person columns a ranking, free/busy and the answer read (timestamps are deferred:
#: Django's timestamptz loader is the costliest part of a 500-row read).
_PERSON_COLUMNS = ("id", "membership_id", "location_id", "name", "timezone", "home_lat", "home_lng", "active")
_ROW_COLUMNS = (
    *_PERSON_COLUMNS,
    "membership__skills",
    "membership__user__name",
    "membership__user__email",
    "location__lat",
    "location__lng",
    "location__timezone",
)


def _candidate_rows(*, org, team: Team | None = None, person_ids=None):
    """One query, plain tuples (`_ROW_COLUMNS`): the org's (or the team's) active people, or
    exactly the people given by id."""
    if person_ids is not None:
        people = Person.objects.filter(org=org, pk__in=id_set(person_ids))
    else:
        people = Person.objects.filter(org=org, active=True, membership__active=True)
        if team is not None:
            people = people.filter(
                membership__team_memberships__team=team, membership__team_memberships__active=True
            ).distinct()
    return list(people.order_by("id").values_list(*_ROW_COLUMNS))


def _bare(model, values: dict):
    """A model instance from column values without `Model.__init__` (what `Model.from_db`
    builds, minus the per-field loop and init signals: ~14 µs per row here, and a ranking
    builds hundreds for `free_busy`, which takes `Person` rows). Columns left out are
    deferred (read on access, one query), as with `.only()`."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = "default"
    return instance


def _light_people(rows, org) -> list[tuple[Person, tuple]]:
    """(light Person, its row) per row; one shared Location per location (for `tz_name`)."""
    n = len(_PERSON_COLUMNS)
    locations: dict = {}
    out = []
    for row in rows:
        person = _bare(Person, dict(zip(_PERSON_COLUMNS, row[:n], strict=True), org_id=org.pk))
        cache = person._state.fields_cache
        cache["org"] = org  # one org for all (tz_name falls back to it)
        location_id = row[2]
        if location_id is not None:
            location = locations.get(location_id)
            if location is None:
                location = locations[location_id] = _bare(
                    Location,
                    {"id": location_id, "org_id": org.pk, "lat": row[n + 3], "lng": row[n + 4], "timezone": row[n + 5]},
                )
            cache["location"] = location
        out.append((person, row))
    return out


def rank(
    *,
    incident: Incident,
    policy: DispatchPolicy,
    now: datetime,
    team: Team | None = None,
    people=None,
) -> list[Candidate]:
    """Every candidate considered, eligible ones first by (score, id), then the excluded by id.
    `people` (Person rows or ids) ranks exactly those instead of the org's (team's) people."""
    org = incident.org
    if people is not None:
        ids = [p.pk if isinstance(p, Person) else p for p in people]
        rows = _candidate_rows(org=org, person_ids=ids) if ids else []
    else:
        rows = _candidate_rows(org=org, team=team)
    if not rows:
        return []
    light = _light_people(rows, org)
    persons = [person for person, _row in light]
    stats = {
        person_id: (active, last)
        for person_id, active, last in Assignment.objects.filter(person_id__in=id_set(p.pk for p in persons))
        .values("person_id")
        .annotate(active=Count("id", filter=Q(state__in=ACTIVE_STATES)), last=Max("offered_at"))
        .values_list("person_id", "active", "last")
    }
    # Our own assignments are busy time through their linked `work` entries; the policy's
    # concurrency limit decides about them, so the time model is asked to leave them out.
    # (Active ones of the org, and the org's active beacons below: bounded sets, cheaper than
    # binding an IN list of every candidate.)
    own_entries = [
        str(ref)
        for ref in Assignment.objects.filter(
            org_id=incident.org_id, state__in=ACTIVE_STATES, schedule_entry_id__isnull=False
        ).values_list("schedule_entry_id", flat=True)
    ]
    window_start, window_end = busy_window(now)
    times = free_busy(org=org, start=window_start, end=window_end, people=persons, exclude_refs=own_entries)
    # Light rows: live_positions() reads only pk, org_id and membership_id.
    beacons = [
        SimpleNamespace(pk=pk, org_id=incident.org_id, membership_id=membership_id)
        for pk, membership_id in Beacon.objects.active()
        .filter(org_id=incident.org_id)
        .values_list("pk", "membership_id")
    ]
    live = live_positions(beacons)
    beacon_position = {b.membership_id: _point(live[b.pk]["lat"], live[b.pk]["lng"]) for b in beacons if b.pk in live}
    target = _point(incident.lat, incident.lng)
    required = [s for s in (incident.required_skills or []) if isinstance(s, str)]
    speed = policy.travel_speed_kmh
    max_concurrent = policy.max_concurrent
    busy_end = now + BUSY_WINDOW
    # Never assigned (or not for IDLE_CAP): the full bonus, the same for everyone.
    full_idle_minutes = round(IDLE_CAP.total_seconds() / 60, 1)
    full_idle_bonus = IDLE_BONUS * (IDLE_CAP / IDLE_CAP)
    full_idle_bonus_rounded = round(full_idle_bonus, 3)
    n = len(_PERSON_COLUMNS)

    ranked = []
    for person, row in light:
        person_id, membership_id, location_id = row[0], row[1], row[2]
        excluded = []
        active, last = stats.get(person_id, (0, None))
        pt = times.get(person_id)
        if pt is None or not pt.on_duty(now):
            excluded.append("off_duty")
        skills = row[n] or []
        missing = sorted(s for s in required if s not in skills) if required else []
        if missing:
            excluded.append("missing_skill")
        if (pt is not None and pt.is_busy(now, busy_end)) or active >= max_concurrent:
            excluded.append("busy")
        position, source = beacon_position.get(membership_id), "beacon"
        if position is None:
            position, source = _point(row[5], row[6]), "home"
            if position is None:
                position, source = (_point(row[n + 3], row[n + 4]) if location_id else None), "location"
                if position is None:
                    source = ""
        if target is not None and position is not None:
            travel = travel_minutes(position, target, speed_kmh=speed)
            distance = round(haversine_km(position, target), 3)
        else:
            if target is not None:
                excluded.append("no_position")
            travel, distance = 0.0, None
        if last is None:
            idle_minutes, idle_bonus, idle_bonus_rounded = full_idle_minutes, full_idle_bonus, full_idle_bonus_rounded
        else:
            idle = min(IDLE_CAP, max(timedelta(0), now - last))
            idle_bonus = IDLE_BONUS * idle / IDLE_CAP
            idle_minutes, idle_bonus_rounded = round(idle.total_seconds() / 60, 1), round(idle_bonus, 3)
        load = LOAD_MINUTES * active
        candidate = Candidate(
            person=person,
            name=row[3] or row[n + 1] or row[n + 2],
            excluded=excluded,
            score=travel + load - idle_bonus,
            parts={
                "travel_minutes": round(travel, 3),
                "distance_km": distance,
                "load": active,
                "load_minutes": load,
                "idle_minutes": idle_minutes,
                "idle_bonus": idle_bonus_rounded,
            },
            position=position,
            position_source=source,
            missing_skills=missing,
            active_assignments=active,
        )
        ranked.append(candidate)
    ranked.sort(key=_order)
    return ranked


def _order(c: Candidate):
    # By id as its text: a UUID orders as its (fixed-width, lower-case hex) text does.
    return (0, c.score, c.person.pk) if not c.excluded else (1, 0.0, c.person.pk)
