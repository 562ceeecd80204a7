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

from apps.dispatch.models import ACTIVE_STATES, Assignment, DispatchPolicy
from apps.incidents.models import Incident
from apps.orgs.models import Team
from apps.scheduling.freebusy import free_busy
from apps.scheduling.models import Person
from apps.signals.models import Beacon
from apps.signals.selectors import live_positions
from schedkit.db import id_set

LOAD_MINUTES = 30.0
IDLE_BONUS = 10.0
IDLE_CAP = timedelta(hours=8)
#: "busy now" looks at this much of the future (a booking starting in a minute counts).
BUSY_WINDOW = timedelta(minutes=1)

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
    person: Person
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
        membership = self.person.membership
        return {
            "person_id": str(self.person.pk),
            "membership_id": str(membership.pk),
            "name": self.person.name or membership.user.name or membership.user.email,
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


#: Columns of the candidate rows no ranking, offer or answer reads: timestamps (loaded in
#: Python by Django's timestamptz loader, four per candidate) and the user's credentials. A
#: ranking reads hundreds of candidates; a deferred column read later costs one query.
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


def rank(
    *,
    incident: Incident,
    policy: DispatchPolicy,
    now: datetime,
    team: Team | None = None,
    people=None,
) -> list[Candidate]:
    """Every candidate considered, eligible ones first by (score, id), then the excluded by id."""
    people = list(people if people is not None else candidates_queryset(org=incident.org, team=team))
    if not people:
        return []
    for person in people:
        person.org = incident.org  # one org for all: no join per row (tz_name falls back to it)
    person_ids = [p.pk for p in people]
    stats = {
        row["person_id"]: row
        for row in Assignment.objects.filter(person_id__in=id_set(person_ids))
        .values("person_id")
        .annotate(active=Count("id", filter=Q(state__in=ACTIVE_STATES)), last=Max("offered_at"))
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
    times = free_busy(org=incident.org, start=now, end=now + BUSY_WINDOW, people=people, exclude_refs=own_entries)
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

    ranked = []
    for person in people:
        candidate = Candidate(person=person)
        row = stats.get(person.pk) or {}
        candidate.active_assignments = row.get("active", 0)
        pt = times.get(person.pk)
        if pt is None or not pt.on_duty(now):
            candidate.excluded.append("off_duty")
        skills = set(person.membership.skills or [])
        candidate.missing_skills = sorted(s for s in required if s not in skills)
        if candidate.missing_skills:
            candidate.excluded.append("missing_skill")
        if (
            pt is not None and pt.is_busy(now, now + BUSY_WINDOW)
        ) or candidate.active_assignments >= policy.max_concurrent:
            candidate.excluded.append("busy")
        for source, point in (
            ("beacon", beacon_position.get(person.membership_id)),
            ("home", _point(person.home_lat, person.home_lng)),
            ("location", _point(person.location.lat, person.location.lng) if person.location_id else None),
        ):
            if point is not None:
                candidate.position, candidate.position_source = point, source
                break
        if target is not None and candidate.position is None:
            candidate.excluded.append("no_position")
        travel = (
            travel_minutes(candidate.position, target, speed_kmh=policy.travel_speed_kmh)
            if target is not None and candidate.position is not None
            else 0.0
        )
        last = row.get("last")
        idle = IDLE_CAP if last is None else min(IDLE_CAP, max(timedelta(0), now - last))
        idle_bonus = IDLE_BONUS * idle / IDLE_CAP
        load = LOAD_MINUTES * candidate.active_assignments
        candidate.parts = {
            "travel_minutes": round(travel, 3),
            "distance_km": round(haversine_km(candidate.position, target), 3)
            if target is not None and candidate.position is not None
            else None,
            "load": candidate.active_assignments,
            "load_minutes": load,
            "idle_minutes": round(idle.total_seconds() / 60, 1),
            "idle_bonus": round(idle_bonus, 3),
        }
        candidate.score = travel + load - idle_bonus
        ranked.append(candidate)
    ranked.sort(key=lambda c: (0, c.score, str(c.person.pk)) if c.eligible else (1, 0.0, str(c.person.pk)))
    return ranked
