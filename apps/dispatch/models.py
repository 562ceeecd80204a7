"""Dispatch: who is sent to an incident, and what happens when nobody answers.

`DispatchPolicy` is the org's escalation chain (optionally per team and/or priority);
`Dispatch` is one run of a chain for one incident (its step and round); `Assignment` is an
offer to one responder and what became of it; `EscalationTimer` is a due time stored as a
row, so a lost Celery task or a restarted worker never loses an escalation (the beat sweep
fires whatever is overdue)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.incidents.models import Incident, Priority
from apps.orgs.models import Membership, OrgOwnedModel, Team
from apps.scheduling.models import Person, ScheduleEntry

STEP_TYPES = ("offer", "notify_team", "notify_on_call", "wait")


def default_steps() -> list:
    return [{"type": "offer", "count": 1}]


def validate_steps(steps) -> None:
    if not isinstance(steps, list) or not steps or len(steps) > 20:
        raise ValidationError("Steps are a non-empty list of at most 20 steps.")
    for index, step in enumerate(steps):
        kind = step.get("type") if isinstance(step, dict) else None
        if kind not in STEP_TYPES:
            raise ValidationError(f"Step {index}: type is one of {', '.join(STEP_TYPES)}.")
        allowed = {"type", "count", "team", "minutes"}
        if set(step) - allowed:
            raise ValidationError(f"Step {index}: unknown keys {sorted(set(step) - allowed)}.")
        count, minutes, team = step.get("count", 1), step.get("minutes"), step.get("team")
        if kind == "offer" and (not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 20):
            raise ValidationError(f"Step {index}: count is 1 … 20.")
        if kind == "wait" and (
            not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not 0 < minutes <= 1440
        ):
            raise ValidationError(f"Step {index}: minutes is more than 0 and at most 1440.")
        if kind == "notify_team" and not (isinstance(team, str) and team):
            raise ValidationError(f"Step {index}: notify_team needs a team slug.")
        if kind == "notify_on_call" and team is not None and not (isinstance(team, str) and team):
            raise ValidationError(f"Step {index}: team is a team slug or absent (the whole org).")


class DispatchPolicy(OrgOwnedModel):
    """The escalation chain. The most specific active policy applies: team and priority,
    then team, then priority, then the org's general one (neither); without any, the
    built-in default (offer one, repeat three times, then the admins)."""

    name = models.CharField(max_length=200)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True, help_text="Blank: any priority")
    steps = models.JSONField(
        default=default_steps,
        validators=[validate_steps],
        help_text='[{"type": "offer", "count": 1}, {"type": "notify_team", "team": "ops"}, '
        '{"type": "notify_on_call", "team": "ops"}, {"type": "wait", "minutes": 5}]',
    )
    repeat = models.PositiveSmallIntegerField(default=3, help_text="Rounds of the steps before the admins are told")
    ack_timeout_seconds = models.PositiveIntegerField(default=120)
    max_concurrent = models.PositiveSmallIntegerField(default=1, help_text="Active assignments per responder")
    travel_speed_kmh = models.FloatField(default=40.0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "dispatch policies"
        constraints = [
            models.UniqueConstraint(
                fields=["org", "team", "priority"],
                condition=Q(active=True),
                name="uniq_active_dispatch_policy",
            ),
            models.CheckConstraint(condition=Q(repeat__gte=1), name="dispatch_policy_repeat_positive"),
            models.CheckConstraint(condition=Q(max_concurrent__gte=1), name="dispatch_policy_concurrency_positive"),
            models.CheckConstraint(condition=Q(ack_timeout_seconds__gte=1), name="dispatch_policy_timeout_positive"),
            models.CheckConstraint(condition=Q(travel_speed_kmh__gt=0), name="dispatch_policy_speed_positive"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.team_id and self.org_id and self.team.org_id != self.org_id:
            raise ValidationError({"team": "Team belongs to another organization."})


class Dispatch(OrgOwnedModel):
    """One run of an escalation chain for an incident."""

    class State(models.TextChoices):
        ACTIVE = "active"  # offering / waiting
        ACKNOWLEDGED = "acknowledged"  # someone took it
        EXHAUSTED = "exhausted"  # every round ran out; admins told
        CANCELLED = "cancelled"  # re-dispatched or the incident closed

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="dispatches")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy = models.ForeignKey(DispatchPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: the chain as it was when the run started (a policy edit never changes a running chain)
    policy_snapshot = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    step_index = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    started_by = models.CharField(max_length=200, help_text="user:…, apikey:…, auto")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "dispatches"
        constraints = [
            models.UniqueConstraint(fields=["incident"], condition=Q(state="active"), name="uniq_active_dispatch"),
        ]

    def __str__(self):
        return f"dispatch {self.pk} ({self.state})"


ACTIVE_STATES = ("offered", "acknowledged", "en_route", "on_scene")


class Assignment(OrgOwnedModel):
    class State(models.TextChoices):
        OFFERED = "offered"
        ACKNOWLEDGED = "acknowledged"
        EN_ROUTE = "en_route"
        ON_SCENE = "on_scene"
        RELEASED = "released"
        DECLINED = "declined"
        TIMED_OUT = "timed_out"
        WITHDRAWN = "withdrawn"  # another responder took it, or the run was cancelled

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="assignments")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assignments")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="assignments")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="assignments")
    state = models.CharField(max_length=16, choices=State.choices, default=State.OFFERED)
    step_index = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    offered_at = models.DateTimeField()
    ack_deadline = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Released, declined, timed out, withdrawn")
    score = models.FloatField(null=True, blank=True)
    score_parts = models.JSONField(default=dict, blank=True)
    #: the `work` entry that puts the job in the responder's schedule (busy for free/busy)
    schedule_entry = models.ForeignKey(
        ScheduleEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="dispatch_assignments"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["person", "state"], name="assignment_person_state"),
            models.Index(fields=["org", "state", "-id"], name="assignment_org_state"),
        ]

    def __str__(self):
        return f"{self.membership_id} → {self.incident_id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class ResponderStatus(models.TextChoices):
    """What POST /v1/assignments/{id}/status accepts."""

    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RELEASED = "released"


#: Moves a responder reports with POST /v1/assignments/{id}/status.
STATUS_MOVES = {
    Assignment.State.ACKNOWLEDGED: (Assignment.State.EN_ROUTE, Assignment.State.ON_SCENE, Assignment.State.RELEASED),
    Assignment.State.EN_ROUTE: (Assignment.State.ON_SCENE, Assignment.State.RELEASED),
    Assignment.State.ON_SCENE: (Assignment.State.RELEASED,),
}


class EscalationTimer(OrgOwnedModel):
    class Kind(models.TextChoices):
        ACK_TIMEOUT = "ack_timeout"
        WAIT = "wait"

    class State(models.TextChoices):
        PENDING = "pending"
        FIRED = "fired"
        CANCELLED = "cancelled"

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="timers")
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="timers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["due_at"], condition=Q(state="pending"), name="escalation_timer_pending")]

    def __str__(self):
        return f"{self.kind} at {self.due_at:%H:%M:%S} ({self.state})"
