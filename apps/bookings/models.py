"""Event types and bookings (holds included), PII at rest. Webhooks live in apps.events."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.bookings.pii import decrypt
from apps.orgs.models import OrgOwnedModel, OrgScopedQuerySet, Role, Team
from apps.scheduling.models import Location, Person, SlotInstance

ACTIVE_STATUSES = ("held", "pending", "confirmed")


class EventType(OrgOwnedModel):
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="event_types")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    slug = models.SlugField(max_length=63)
    title = models.CharField(max_length=200)
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    capacity = models.PositiveSmallIntegerField(default=1, help_text="Seats per time")
    requires_confirmation = models.BooleanField(default=False)
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    minimum_notice_minutes = models.PositiveIntegerField(default=0)
    booking_window_days = models.PositiveSmallIntegerField(default=60)
    per_day_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    webhook_url = models.URLField(blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "slug"], name="uniq_event_type_person_slug"),
            models.UniqueConstraint(fields=["team", "slug"], name="uniq_event_type_team_slug"),
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, team__isnull=True)
                | models.Q(person__isnull=True, team__isnull=False),
                name="event_type_one_owner",
            ),
        ]

    def __str__(self):
        return self.slug

    def clean(self):
        if (self.person_id is None) == (self.team_id is None):
            raise ValidationError("An event type is owned by exactly one person or one team.")
        if not 5 <= (self.duration_minutes or 0) <= 720:
            raise ValidationError({"duration_minutes": "Between 5 and 720."})
        if not 1 <= (self.capacity or 0) <= 1000:
            raise ValidationError({"capacity": "Between 1 and 1000."})
        if self.booking_window_days > 366:
            raise ValidationError({"booking_window_days": "At most 366."})
        for name, obj in (("person_id", self.person), ("team_id", self.team), ("location_id", self.location)):
            if obj is not None and obj.org_id != self.org_id:
                raise ValidationError({name: "Belongs to another organization."})


class BookingQuerySet(OrgScopedQuerySet):
    def for_actor(self, actor, action: str = "view"):
        """Plain members (responders) see only the bookings they made themselves."""
        queryset = super().for_actor(actor, action)
        if actor is not None and actor.role == Role.MEMBER:
            queryset = queryset.filter(user=actor.user)
        return queryset


class Booking(OrgOwnedModel):
    class Status(models.TextChoices):
        HELD = "held"
        PENDING = "pending"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        DECLINED = "declined"

    slot = models.ForeignKey(SlotInstance, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    event_type = models.ForeignKey(EventType, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings")
    user = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    # Seats sharing one time (a slot's capacity, an event type's seats) share a seat_group;
    # the exclusion constraint forbids a person's overlapping bookings in different groups.
    seat_group = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    attendee_name = models.CharField(max_length=200)
    attendee_email_enc = models.TextField(blank=True, help_text="Fernet ciphertext")
    attendee_phone_enc = models.TextField(blank=True, help_text="Fernet ciphertext")
    email_index = models.CharField(max_length=64, blank=True, db_index=True, help_text="Keyed hash (blind index)")
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, help_text="Keyed hash (blind index)")
    notes = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, help_text="Manage-link token (hashed)")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    rescheduled_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = BookingQuerySet.as_manager()

    @property
    def current_status(self) -> str:
        """What the booking is now: a hold past its expiry is expired, whether or not the
        minutely job has written that yet (no read counts or shows an expired hold)."""
        if self.status == self.Status.HELD and self.hold_expires_at and self.hold_expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.status

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["org", "status", "start_at"]),
            models.Index(fields=["person", "start_at"]),
            models.Index(fields=["hold_expires_at"], condition=models.Q(status="held"), name="booking_hold_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_at__gt=models.F("start_at")), name="booking_order")
        ]

    def __str__(self):
        return f"{self.attendee_name} {self.start_at:%Y-%m-%d %H:%M}Z {self.status}"

    @property
    def attendee_email(self) -> str:
        return decrypt(self.attendee_email_enc)

    @property
    def attendee_phone(self) -> str:
        return decrypt(self.attendee_phone_enc)
