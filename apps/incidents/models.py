"""Incidents and tickets: one table, two API routes (SPEC §5)."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.incidents import clock
from apps.orgs.models import Membership, OrgOwnedModel, OrgScopedQuerySet
from apps.orgs.roles import SCHEDULERS
from schedkit.api.throttling import validate_rate


class Status(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Source(models.TextChoices):
    API = "api"
    EMAIL = "email"
    WEBHOOK = "webhook"
    ALERT = "alert"


class SlaStatus(models.TextChoices):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


#: The status machine: every legal move. Anything else is 409 ILLEGAL_TRANSITION.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.OPEN: (Status.IN_PROGRESS, Status.RESOLVED),
    Status.IN_PROGRESS: (Status.OPEN, Status.RESOLVED),
    Status.RESOLVED: (Status.CLOSED, Status.OPEN, Status.IN_PROGRESS),  # reopen
    Status.CLOSED: (),
}
ACTIVE_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

#: Default SLA windows; Org.settings["sla_minutes"] overrides per priority.
SLA_WINDOWS = {
    Priority.URGENT: timedelta(hours=1),
    Priority.HIGH: timedelta(hours=4),
    Priority.NORMAL: timedelta(hours=24),
    Priority.LOW: timedelta(hours=48),
}
AT_RISK_FRACTION = 0.75


class IncidentQuerySet(OrgScopedQuerySet):
    """Everyone in the org reads every incident (members included, SPEC §2); who may change
    one is decided per object (see services.ensure_can_update)."""

    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


class Incident(OrgOwnedModel):
    # Overrides BaseModel's auto_now_add so services can stamp the (settable) clock's "now",
    # which the SLA window is computed from.
    created_at = models.DateTimeField(db_index=True, editable=False)

    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, max_length=20_000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    sla_due_at = models.DateTimeField()
    sla_breached = models.BooleanField(default=False, help_text="Set once by the breach scan; sticky")
    resolved_at = models.DateTimeField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    location_name = models.CharField(max_length=200, blank=True)
    customer_token = models.CharField(max_length=64, unique=True, editable=False)
    reply_token = models.CharField(max_length=32, unique=True, editable=False)
    assignees = models.ManyToManyField(Membership, blank=True, related_name="assigned_incidents")
    # Seam for the signals app (built in parallel): the signal that raised this incident.
    signal_id = models.UUIDField(null=True, blank=True, db_index=True)
    # Grouping key for webhook/alert intake: one active incident per fingerprint.
    fingerprint = models.CharField(max_length=200, blank=True)
    reporter_email = models.EmailField(blank=True)
    required_skills = models.JSONField(
        default=list, blank=True, help_text="Skills a responder needs (dispatch filters on them)"
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The board/list query: org + status (+ priority), newest first (cursor on -id).
            models.Index(fields=["org", "status", "priority", "-id"], name="incident_org_status_prio"),
            models.Index(fields=["org", "-id"], name="incident_org_recent"),
            models.Index(fields=["sla_due_at"], condition=Q(sla_breached=False), name="incident_sla_pending"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "fingerprint"],
                condition=Q(status__in=ACTIVE_STATUSES) & ~Q(fingerprint=""),
                name="uniq_active_incident_fingerprint",
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True) | Q(lat__gte=-90, lat__lte=90), name="incident_lat_range"
            ),
            models.CheckConstraint(
                condition=Q(lng__isnull=True) | Q(lng__gte=-180, lng__lte=180), name="incident_lng_range"
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if (self.lat is None) != (self.lng is None):
            raise ValidationError({"lat": "Give both lat and lng, or neither."})
        skills = self.required_skills
        if not isinstance(skills, list) or not all(isinstance(s, str) and s.strip() for s in skills):
            raise ValidationError({"required_skills": "A list of non-empty strings."})

    def allowed_transitions(self) -> tuple[str, ...]:
        return TRANSITIONS[self.status]

    def sla_status_at(self, now) -> str:
        if self.status in (Status.RESOLVED, Status.CLOSED):
            met = not self.sla_breached and (self.resolved_at is None or self.resolved_at <= self.sla_due_at)
            return SlaStatus.MET if met else SlaStatus.BREACHED
        if self.sla_breached or now >= self.sla_due_at:
            return SlaStatus.BREACHED
        window = (self.sla_due_at - self.created_at).total_seconds()
        elapsed = (now - self.created_at).total_seconds()
        if window > 0 and elapsed >= AT_RISK_FRACTION * window:
            return SlaStatus.AT_RISK
        return SlaStatus.OK

    @property
    def sla_status(self) -> str:
        return self.sla_status_at(clock.now())

    @property
    def assignee_list(self):
        """The assignees, from a list prefetch (selectors.ASSIGNEES_LIST) when there is one."""
        prefetched = getattr(self, "prefetched_assignees", None)
        return prefetched if prefetched is not None else list(self.assignees.all())

    def is_assigned_to(self, membership_id) -> bool:
        return any(m.pk == membership_id for m in self.assignee_list)


class Activity(OrgOwnedModel):
    """Who changed what, when: the incident's audit trail (also its comment thread)."""

    class Verb(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        TRANSITIONED = "transitioned"
        ASSIGNED = "assigned"
        COMMENTED = "commented"
        SLA_BREACHED = "sla_breached"
        REPEATED = "repeated"
        DISPATCHED = "dispatched"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, help_text="user:…, apikey:…, email:…, system")
    verb = models.CharField(max_length=16, choices=Verb.choices)
    field = models.CharField(max_length=32, blank=True)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "activity"

    def __str__(self):
        return f"{self.verb} {self.field}".strip()


class IntakeEndpoint(OrgOwnedModel):
    """A per-org tokenized URL (/v1/intake/{token}) for generic JSON and Alertmanager."""

    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False, help_text="For recognising a token")
    default_priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        default="",
        validators=[validate_rate],
        help_text='Requests allowed per token, e.g. "600/min"; empty: the THROTTLE_INTAKE default',
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name} ({self.token_prefix}…)"


def manages_incidents(role) -> bool:
    return role in SCHEDULERS
