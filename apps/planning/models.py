"""Daily schedules (SPEC §6.3, scheduling-orchestrator): one per org (and optionally team) per
date, its assignments and `rev` (optimistic locking), the requests that optimize a day, the
record of every optimization run, and the conflicts found in a day's plan."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.orgs.models import OrgOwnedModel, Team


class WorkItem(models.Model):
    """A typed reference to planned work: exactly one of a schedule entry (an instance of it,
    for a series), a booking or an incident."""

    KINDS = ("entry", "booking", "incident")

    entry = models.ForeignKey(
        "scheduling.ScheduleEntry", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    entry_instance = models.CharField(
        max_length=80, blank=True, help_text="Instance id of a series occurrence; blank for a single entry"
    )
    booking = models.ForeignKey("bookings.Booking", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def work_kind(self) -> str:
        return "entry" if self.entry_id else "booking" if self.booking_id else "incident"

    @property
    def work_id(self) -> str:
        if self.entry_id:
            return self.entry_instance or str(self.entry_id)
        return str(self.booking_id or self.incident_id)

    @property
    def work_ref(self) -> str:
        """ "entry:<id>", "booking:<id>", "incident:<id>" — the demand id the solver uses."""
        return f"{self.work_kind}:{self.work_id}"

    def clean_work_item(self):
        given = [x for x in (self.entry_id, self.booking_id, self.incident_id) if x]
        if len(given) != 1:
            raise ValidationError({"work_item": "Name exactly one work item: an entry, a booking or an incident."})
        for name in ("entry", "booking", "incident"):
            obj = getattr(self, name)
            if obj is not None and obj.org_id != self.org_id:
                raise ValidationError({"work_item": "Unknown work item."})


def one_work_item(prefix: str) -> models.CheckConstraint:
    e, b, i = Q(entry__isnull=False), Q(booking__isnull=False), Q(incident__isnull=False)
    return models.CheckConstraint(condition=(e & ~b & ~i) | (~e & b & ~i) | (~e & ~b & i), name=f"{prefix}_one_item")


class DailySchedule(OrgOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(help_text="Local date in the org's time zone")
    rev = models.PositiveIntegerField(default=1, help_text="Bumped by every write; the ETag")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    published_rev = models.PositiveIntegerField(null=True, blank=True)
    written_entry_ids = models.JSONField(
        default=list, blank=True, editable=False, help_text="Schedule entries the last publish wrote"
    )
    updated_by = models.CharField(max_length=200, blank=True, help_text="user:…, apikey:…, system")

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "date"], condition=Q(team__isnull=True), name="uniq_daysched_org"),
            models.UniqueConstraint(
                fields=["org", "team", "date"], condition=Q(team__isnull=False), name="uniq_daysched_team"
            ),
        ]

    def __str__(self):
        return f"{self.date} rev {self.rev}" + (f" ({self.team_id})" if self.team_id else "")

    def clean(self):
        if self.team_id and self.team.org_id != self.org_id:
            raise ValidationError({"team": "Unknown team."})


class ScheduleAssignment(WorkItem, OrgOwnedModel):
    schedule = models.ForeignKey(DailySchedule, on_delete=models.CASCADE, related_name="assignments")
    person = models.ForeignKey("scheduling.Person", on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    location = models.ForeignKey(
        "scheduling.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    pinned = models.BooleanField(default=False, help_text="Kept as is by the optimizer")

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            one_work_item("schedassign"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="schedassign_order"),
        ]
        indexes = [models.Index(fields=["schedule", "person", "start"])]

    def __str__(self):
        return f"{self.work_ref} → {self.person_id} {self.start:%H:%M}"

    def clean(self):
        self.clean_work_item()
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "End must be after start."})
        if self.person_id and self.person.org_id != self.org_id:
            raise ValidationError({"person_id": "Unknown person."})

    @property
    def position(self) -> tuple[float, float] | None:
        if self.lat is not None and self.lng is not None:
            return (self.lat, self.lng)
        if self.location_id and self.location.lat is not None:
            return (float(self.location.lat), float(self.location.lng))
        return None


class WorkRequirement(WorkItem, OrgOwnedModel):
    """What planning needs to know about a work item beyond its own fields: skills, priority,
    duration, a time window and a site. Optional; absent values come from the item."""

    skills = models.JSONField(default=list, blank=True)
    priority = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 low … 4 urgent")
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    location = models.ForeignKey(
        "scheduling.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            one_work_item("workreq"),
            # one requirement per work item
            models.UniqueConstraint(
                fields=["entry", "entry_instance"], condition=Q(entry__isnull=False), name="uniq_workreq_entry"
            ),
            models.UniqueConstraint(
                fields=["booking"], condition=Q(booking__isnull=False), name="uniq_workreq_booking"
            ),
            models.UniqueConstraint(
                fields=["incident"], condition=Q(incident__isnull=False), name="uniq_workreq_incident"
            ),
        ]

    def __str__(self):
        return f"requirement of {self.work_ref}"

    def clean(self):
        self.clean_work_item()
        if not isinstance(self.skills, list) or not all(isinstance(s, str) and s for s in self.skills):
            raise ValidationError({"skills": "Skills are a list of non-empty strings."})
        if self.priority is not None and not 1 <= self.priority <= 4:
            raise ValidationError({"priority": "Between 1 (low) and 4 (urgent)."})


class ScheduleRequest(OrgOwnedModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Source(models.TextChoices):
        API = "api"
        EVENT = "event"

    date = models.DateField(db_index=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    schedule = models.ForeignKey(
        DailySchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    base_rev = models.PositiveIntegerField(null=True, blank=True, help_text="The schedule's rev the proposal is for")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(max_length=200)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    trigger = models.CharField(max_length=200, blank=True, help_text="The event that asked for re-planning")
    constraints = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["org", "date"])]

    def __str__(self):
        return f"request {self.date} {self.status}"


class OptimizationRun(OrgOwnedModel):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    request = models.ForeignKey(ScheduleRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    date = models.DateField(db_index=True)
    algorithm = models.CharField(max_length=30)
    duration_ms = models.PositiveIntegerField(default=0)
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="assigned, unassigned, travel, balance, …")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["org", "date"])]

    def __str__(self):
        return f"{self.algorithm} {self.date} {self.status}"


class ConflictType(models.TextChoices):
    DOUBLE_BOOKED = "double_booked"
    SKILL_MISSING = "skill_missing"
    OUTSIDE_AVAILABILITY = "outside_availability"
    TRAVEL_INFEASIBLE = "travel_infeasible"
    UNASSIGNED_DEMAND = "unassigned_demand"
    OVER_CAPACITY = "over_capacity"


class ScheduleConflict(OrgOwnedModel):
    class Resolution(models.TextChoices):
        REASSIGN = "reassign"
        RESCHEDULE = "reschedule"
        DROP = "drop"
        ACCEPT = "accept"

    schedule = models.ForeignKey(DailySchedule, on_delete=models.CASCADE, related_name="conflicts")
    run = models.ForeignKey(OptimizationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(max_length=30, choices=ConflictType.choices)
    work_ref = models.CharField(max_length=120, blank=True, help_text="The demand it is about")
    region = models.CharField(max_length=200, blank=True, db_index=True)
    details = models.JSONField(default=dict)
    resolved = models.BooleanField(default=False)
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["schedule", "resolved"])]

    def __str__(self):
        return f"{self.type} {self.work_ref}"

    @property
    def status(self) -> str:
        return "resolved" if self.resolved else "open"
