"""Schedule entries (SPEC §6.2): planned work with several assignees and RFC 5545 recurrence.

Only masters are stored. A recurring master carries its RRULE (expanded in the entry's own
IANA zone, so 09:00 stays 09:00 across DST); a changed or cancelled occurrence is a
`ScheduleOverride` keyed by the occurrence's original start (RECURRENCE-ID), a cancelled one
being an EXDATE."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q

from apps.orgs.models import Membership, OrgOwnedModel, OrgScopedQuerySet, Team, validate_timezone
from apps.orgs.roles import FRONTDESK

#: Longest single occurrence; bounds the look-back when expanding a window.
MAX_DURATION = timedelta(days=31)


class Status(models.TextChoices):
    SCHEDULED = "scheduled"
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EntryKind(models.TextChoices):
    """What an entry says about its assignees' time: `work` occupies them (busy); an `on_call`
    shift puts them on duty for dispatch without making them busy."""

    WORK = "work"
    ON_CALL = "on_call"


class ScheduleEntryQuerySet(OrgScopedQuerySet):
    def for_actor(self, actor, action: str = "view"):
        queryset = super().for_actor(actor, action)
        if actor is None or actor.org_id is None or actor.role in FRONTDESK:
            return queryset  # schedulers, and frontdesk who read schedules, see everything
        # members: non-private entries plus those assigned to them
        mine = ScheduleEntry.assignees.through.objects.filter(
            scheduleentry_id=OuterRef("pk"), membership_id=actor.membership_id
        )
        return queryset.filter(Q(private=False) | Exists(mine))

    def overlapping(self, start, end):
        """Masters that may have an occurrence in [start, end): single entries by their times,
        series by their first start and cached series end; plus masters with an override
        moved into the window."""
        moved = ScheduleOverride.objects.filter(master=OuterRef("pk"), cancelled=False, start__lt=end, end__gt=start)
        single = Q(rrule="", start__lt=end, end__gt=start)
        series = ~Q(rrule="") & Q(start__lt=end) & (Q(series_end__isnull=True) | Q(series_end__gt=start))
        return self.filter(single | series | Exists(moved))


class ScheduleEntry(OrgOwnedModel):
    title = models.CharField(max_length=300)
    notes = models.TextField(blank=True, max_length=20_000)
    start = models.DateTimeField(help_text="UTC; for a series, the first occurrence (DTSTART)")
    end = models.DateTimeField(help_text="UTC; start + duration of every occurrence")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    kind = models.CharField(max_length=16, choices=EntryKind.choices, default=EntryKind.WORK)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    assignees = models.ManyToManyField(Membership, blank=True, related_name="schedule_entries")
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="schedule_entries"
    )
    work_item_ref = models.CharField(max_length=200, blank=True, help_text="Free reference (ticket, task, …)")
    private = models.BooleanField(default=False, help_text="Only assignees and schedulers see it")
    rrule = models.CharField(max_length=500, blank=True, help_text="RFC 5545 RRULE value, expanded in `timezone`")
    series_end = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Cached end of the last occurrence; null = open-ended"
    )
    ical_uid = models.CharField(max_length=255, blank=True, db_index=True, help_text="UID when imported")
    split_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Series it split from"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScheduleEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "schedule entries"
        indexes = [
            models.Index(fields=["org", "start", "end"], name="schedentry_org_window"),
            models.Index(fields=["org", "series_end"], name="schedentry_org_series_end"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="schedentry_end_after_start"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def clean(self):
        if self.start and self.end:
            if self.end <= self.start:
                raise ValidationError({"end": "End must be after start."})
            if self.end - self.start > MAX_DURATION:
                raise ValidationError({"end": "An entry lasts at most 31 days."})
        if self.incident_id and self.incident.org_id != self.org_id:
            raise ValidationError({"incident_id": "Unknown incident."})
        if self.incident_id and self.work_item_ref:
            raise ValidationError({"work_item_ref": "Give an incident or a free reference, not both."})


class ScheduleOverride(OrgOwnedModel):
    """One occurrence of a series changed (RECURRENCE-ID) or cancelled (EXDATE)."""

    master = models.ForeignKey(ScheduleEntry, on_delete=models.CASCADE, related_name="overrides")
    original_start = models.DateTimeField(help_text="UTC start the rule gives this occurrence")
    cancelled = models.BooleanField(default=False)
    title = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True, max_length=20_000)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    assignees = models.ManyToManyField(Membership, blank=True, related_name="+")

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["original_start"]
        constraints = [
            models.UniqueConstraint(fields=["master", "original_start"], name="uniq_schedoverride_occurrence"),
            models.CheckConstraint(
                condition=Q(cancelled=True) | Q(start__isnull=False, end__isnull=False, end__gt=models.F("start")),
                name="schedoverride_times",
            ),
        ]
        indexes = [models.Index(fields=["master", "start"], name="schedoverride_master_start")]

    def __str__(self):
        return f"{self.master_id} @ {self.original_start:%Y-%m-%dT%H:%MZ}"


class ScheduleFeedQuerySet(OrgScopedQuerySet):
    def for_actor(self, actor, action: str = "view"):
        queryset = super().for_actor(actor, action)
        if actor is None or actor.org_id is None or actor.role in FRONTDESK:
            return queryset
        return queryset.filter(created_by=actor.user)  # members manage their own feeds


class ScheduleFeed(OrgOwnedModel):
    """A tokenized iCal feed of one person's or one team's entries (the token shows once)."""

    membership = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScheduleFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(membership__isnull=False, team__isnull=True)
                | Q(membership__isnull=True, team__isnull=False),
                name="schedfeed_person_xor_team",
            )
        ]

    def __str__(self):
        return f"feed {self.membership_id or self.team_id}"
