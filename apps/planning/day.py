"""A planned day as the optimizer sees it: supply from the time model's free/busy query
(issue 11 — planning never computes busy time itself), demand from the day's unassigned
entries, bookings without a person and open incidents, plus the schedule's own assignments
(pinned ones kept, the rest re-optimizable). Times become minutes from local midnight."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from apps.bookings.models import Booking
from apps.incidents.models import Incident
from apps.incidents.models import Status as IncidentStatus
from apps.orgs.models import TeamMember
from apps.planning.models import DailySchedule, WorkRequirement
from apps.planning.solver import Demand, Instance, Pinned, Weights, Worker
from apps.scheduling.freebusy import free_busy
from apps.scheduling.models import Person
from apps.scheduling.selectors import org_instances

INCIDENT_PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
DEFAULT_INCIDENT_MINUTES = 60
PLANNED_BOOKING_STATUSES = ("pending", "confirmed")


def day_window(org, day: date) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of the org's zone, in UTC (23 or 25 h on DST days)."""
    zone = ZoneInfo(org.timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass
class DemandInfo:
    """What the API shows about a demand besides the solver's numbers."""

    kind: str
    id: str
    title: str
    region: str = ""
    lat: float | None = None
    lng: float | None = None


@dataclass
class Day:
    org: object
    date: date
    start: datetime
    end: datetime
    instance: Instance
    people: dict[str, Person]
    demands: dict[str, DemandInfo] = field(default_factory=dict)

    def minute(self, moment: datetime) -> int:
        return int((moment - self.start).total_seconds() // 60)

    def moment(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)


def _position(lat, lng):
    return (float(lat), float(lng)) if lat is not None and lng is not None else None


def person_position(person: Person):
    return _position(person.home_lat, person.home_lng) or (
        _position(person.location.lat, person.location.lng) if person.location_id else None
    )


def select_people(*, org, team=None, people=None) -> list[Person]:
    queryset = Person.objects.filter(org=org, active=True, membership__active=True).select_related(
        "membership", "location", "org"
    )
    if team is not None:
        queryset = queryset.filter(membership_id__in=TeamMember.objects.filter(team=team).values("membership_id"))
    if people is not None:
        queryset = queryset.filter(pk__in=list(people))
    return list(queryset.order_by("id"))


def _requirements(org, entries, bookings, incidents) -> dict[str, WorkRequirement]:
    rows = WorkRequirement.objects.filter(org=org).filter(
        Q(entry_id__in=entries) | Q(booking_id__in=bookings) | Q(incident_id__in=incidents)
    )
    found = {}
    for row in rows.select_related("location"):
        found[row.work_ref] = row
        if row.entry_id and not row.entry_instance:
            found[f"entry-master:{row.entry_id}"] = row
    return found


def build_day(
    *,
    org,
    day: date,
    schedule: DailySchedule | None = None,
    team=None,
    people=None,
    pinned: list[dict] | None = None,
    weights: Weights | None = None,
    as_placed: bool = False,
) -> Day:
    """`pinned`: extra pins from a request, [{work_item: {type, id}, person_id, start, end}]
    (validated by the caller); the schedule's pinned assignments are always kept."""
    start, end = day_window(org, day)
    persons = select_people(org=org, team=team, people=people)
    assignments = list(schedule.assignments.select_related("location", "person")) if schedule else []
    # the schedule's own work (entries it wrote on publish, items it assigned) is not "other" busy time
    exclude = tuple(str(x) for x in (schedule.written_entry_ids if schedule else [])) + tuple(
        a.work_id for a in assignments
    )
    times = free_busy(org=org, start=start, end=end, people=persons, exclude_refs=exclude)

    d = Day(org=org, date=day, start=start, end=end, instance=Instance(workers=[], demands=[]), people={})
    horizon = d.minute(end)
    for person in persons:
        person_time = times.get(person.pk)
        free, busy = [], []
        for source, target in (
            (person_time.free if person_time else [], free),
            (person_time.busy if person_time else [], busy),
        ):
            for interval in source:
                a, b = max(0, d.minute(interval.start)), min(horizon, d.minute(interval.end))
                if b > a:
                    target.append((a, b))
        d.people[str(person.pk)] = person
        d.instance.workers.append(
            Worker(
                id=str(person.pk),
                skills=frozenset(person.membership.skills or []),
                free=tuple(free),
                position=person_position(person),
                label=str(person),
                busy=tuple(busy),
            )
        )

    instances = [i for i in org_instances(org=org, start=start, end=end) if i.status != "cancelled" and not i.assignees]
    bookings = list(
        Booking.objects.filter(
            org=org, person__isnull=True, status__in=PLANNED_BOOKING_STATUSES, start_at__lt=end, end_at__gt=start
        ).select_related("event_type__location")
    )
    incidents = list(
        Incident.objects.filter(org=org, status__in=[IncidentStatus.OPEN, IncidentStatus.IN_PROGRESS])
        .filter(Q(created_at__lt=end), Q(sla_due_at__gte=start))
        .exclude(assignees__isnull=False)
    )
    requirements = _requirements(
        org,
        {i.master.pk for i in instances} | {a.entry_id for a in assignments if a.entry_id},
        {b.pk for b in bookings} | {a.booking_id for a in assignments if a.booking_id},
        {i.pk for i in incidents} | {a.incident_id for a in assignments if a.incident_id},
    )

    def requirement(ref, master_id=None):
        return requirements.get(ref) or (requirements.get(f"entry-master:{master_id}") if master_id else None)

    def add(ref, info: DemandInfo, *, earliest, latest, duration, priority, position, req):
        if req is not None:
            if req.window_start:
                earliest = max(earliest, d.minute(req.window_start))
            if req.window_end:
                latest = min(latest, d.minute(req.window_end))
            duration = req.duration_minutes or duration
            priority = req.priority or priority
            if req.location_id:
                position = _position(req.location.lat, req.location.lng) or position
                info.region = info.region or req.location.name
        earliest, latest = max(0, earliest), min(horizon, latest)
        if info.lat is None and position is not None:
            info.lat, info.lng = position
        if ref in d.demands:
            d.instance.demands = [x for x in d.instance.demands if x.id != ref]
        d.demands[ref] = info
        d.instance.demands.append(
            Demand(
                id=ref,
                duration=max(1, duration),
                earliest=earliest,
                latest=latest,
                skills=frozenset(req.skills if req else []),
                position=position,
                priority=priority,
                label=info.title,
                region=info.region,
            )
        )

    for inst in instances:
        ref = f"entry:{inst.id}"
        a, b = d.minute(inst.start), d.minute(inst.end)
        incident = inst.master.incident if inst.master.incident_id else None
        add(
            ref,
            DemandInfo("entry", inst.id, inst.title),
            earliest=a,
            latest=b,
            duration=b - a,
            priority=INCIDENT_PRIORITY.get(incident.priority, 2) if incident else 2,
            position=None,
            req=requirement(ref, inst.master.pk),
        )
    for booking in bookings:
        ref = f"booking:{booking.pk}"
        a, b = d.minute(booking.start_at), d.minute(booking.end_at)
        site = booking.event_type.location if booking.event_type_id and booking.event_type.location_id else None
        info = DemandInfo("booking", str(booking.pk), booking.attendee_name, region=site.name if site else "")
        position = _position(site.lat, site.lng) if site else None
        add(ref, info, earliest=a, latest=b, duration=b - a, priority=2, position=position, req=requirement(ref))
    for incident in incidents:
        ref = f"incident:{incident.pk}"
        info = DemandInfo("incident", str(incident.pk), incident.title, region=incident.location_name)
        add(
            ref,
            info,
            earliest=d.minute(max(incident.created_at, start)),
            latest=horizon,
            duration=DEFAULT_INCIDENT_MINUTES,
            priority=INCIDENT_PRIORITY.get(incident.priority, 2),
            position=_position(incident.lat, incident.lng),
            req=requirement(ref),
        )

    # the schedule's own work: pinned kept, the rest planned again
    for assignment in assignments:
        ref = assignment.work_ref
        a, b = d.minute(assignment.start), d.minute(assignment.end)
        region = assignment.location.name if assignment.location_id else ""
        if as_placed:  # validating the plan as it stands: every assignment is checked at its time
            add(
                ref,
                DemandInfo(assignment.work_kind, assignment.work_id, ref, region=region),
                earliest=a,
                latest=b,
                duration=b - a,
                priority=2,
                position=assignment.position,
                req=requirement(ref, assignment.entry_id),
            )
            d.demands[ref].region = d.demands[ref].region or region
        elif assignment.pinned:
            d.instance.pinned.append(Pinned(ref, str(assignment.person_id), a, b, assignment.position))
            d.demands.setdefault(ref, DemandInfo(assignment.work_kind, assignment.work_id, ref, region=region))
        elif ref not in d.demands:
            req = requirement(ref, assignment.entry_id)
            fixed = assignment.work_kind in ("entry", "booking")  # entries and bookings keep their time
            add(
                ref,
                DemandInfo(assignment.work_kind, assignment.work_id, ref, region=region),
                earliest=a if fixed else 0,
                latest=b if fixed else horizon,
                duration=b - a,
                priority=2,
                position=assignment.position,
                req=req,
            )
    known_pins = {p.demand_id for p in d.instance.pinned}
    for pin in pinned or []:
        if pin["ref"] not in known_pins:
            d.instance.pinned.append(
                Pinned(pin["ref"], pin["person_id"], d.minute(pin["start"]), d.minute(pin["end"]), None)
            )
            d.demands.setdefault(pin["ref"], DemandInfo(*pin["ref"].split(":", 1), pin["ref"]))
    d.instance.demands = [x for x in d.instance.demands if x.id not in {p.demand_id for p in d.instance.pinned}]
    if weights is not None:
        d.instance.weights = weights
    return d
