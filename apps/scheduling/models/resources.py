"""Locations, schedulable people, availability rules and materialized slot instances."""

from django.core.exceptions import ValidationError
from django.db import models

from apps.orgs.models import Membership, OrgOwnedModel, validate_timezone


class Location(OrgOwnedModel):
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    address = models.CharField(max_length=500, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.name

    def clean(self):
        if (self.lat is None) != (self.lng is None):
            raise ValidationError("Give both lat and lng, or neither.")
        if self.lat is not None and not (-90 <= self.lat <= 90 and -180 <= self.lng <= 180):
            raise ValidationError("lat must be within ±90 and lng within ±180.")


class Person(OrgOwnedModel):
    """A schedulable org member: their membership (skills live there), a home location and an
    active flag. The wall-clock zone is the location's, unless the person sets their own."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="person")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="people")
    name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone])
    home_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    home_lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "people"

    def __str__(self):
        return self.name or str(self.membership_id)

    def clean(self):
        if self.membership_id and self.org_id and self.membership.org_id != self.org_id:
            raise ValidationError({"membership_id": "Membership belongs to another organization."})
        if self.location_id and self.org_id and self.location.org_id != self.org_id:
            raise ValidationError({"location_id": "Location belongs to another organization."})
        if (self.home_lat is None) != (self.home_lng is None):
            raise ValidationError({"home_lat": "Give both home_lat and home_lng, or neither."})
        if self.home_lat is not None and not (-90 <= self.home_lat <= 90 and -180 <= self.home_lng <= 180):
            raise ValidationError({"home_lat": "home_lat must be within ±90 and home_lng within ±180."})

    @property
    def tz_name(self) -> str:
        if self.timezone:
            return self.timezone
        if self.location_id:
            return self.location.timezone
        return self.org.timezone


class AvailabilityRule(OrgOwnedModel):
    class Kind(models.TextChoices):
        WEEKLY = "WEEKLY"
        DATE_RANGE = "DATE_RANGE"
        EXCEPTION = "EXCEPTION"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="rules")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    rule_kind = models.CharField(max_length=16, choices=Kind.choices)
    days_of_week = models.JSONField(default=list, blank=True, help_text="ISO weekdays, 1=Monday … 7=Sunday")
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_capacity = models.PositiveSmallIntegerField(default=1)
    slot_granularity_minutes = models.PositiveSmallIntegerField(default=15)
    slot_duration_minutes = models.PositiveSmallIntegerField(default=30)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    is_closed = models.BooleanField(default=False, help_text="EXCEPTION only: closed during the window")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["location", "person"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rule_kind__in=["WEEKLY", "DATE_RANGE", "EXCEPTION"]), name="rule_kind_valid"
            ),
            models.CheckConstraint(condition=models.Q(end_time__gt=models.F("start_time")), name="rule_window_order"),
        ]

    def __str__(self):
        return f"{self.rule_kind} {self.start_time}-{self.end_time}"

    def clean(self):
        errors = {}
        days = self.days_of_week
        if not isinstance(days, list) or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
            errors["days_of_week"] = "A list of ISO weekdays 1 (Monday) … 7 (Sunday)."
        elif len(set(days)) != len(days):
            errors["days_of_week"] = "Each weekday at most once."
        if self.rule_kind == self.Kind.WEEKLY and not days:
            errors["days_of_week"] = "A WEEKLY rule needs at least one weekday."
        if self.rule_kind in (self.Kind.DATE_RANGE, self.Kind.EXCEPTION) and self.valid_from is None:
            errors["valid_from"] = f"A {self.rule_kind} rule needs valid_from."
        if self.rule_kind == self.Kind.DATE_RANGE and self.valid_to is None:
            errors["valid_to"] = "A DATE_RANGE rule needs valid_to."
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = "valid_to is before valid_from."
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = "end_time must be after start_time (same day)."
        if self.is_closed and self.rule_kind != self.Kind.EXCEPTION:
            errors["is_closed"] = "Only EXCEPTION rules can close."
        if not 1 <= (self.slot_capacity or 0) <= 1000:
            errors["slot_capacity"] = "Between 1 and 1000."
        if not 5 <= (self.slot_granularity_minutes or 0) <= 720:
            errors["slot_granularity_minutes"] = "Between 5 and 720."
        if not 5 <= (self.slot_duration_minutes or 0) <= 720:
            errors["slot_duration_minutes"] = "Between 5 and 720."
        if self.person_id and self.location_id and self.person.org_id != self.org_id:
            errors["person_id"] = "Person belongs to another organization."
        if errors:
            raise ValidationError(errors)

    def applies_on(self, day) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        valid_to = self.valid_to or (self.valid_from if self.rule_kind == self.Kind.EXCEPTION else None)
        if valid_to and day > valid_to:
            return False
        return not self.days_of_week or day.isoweekday() in self.days_of_week


class SlotInstance(OrgOwnedModel):
    class Status(models.TextChoices):
        OPEN = "open"
        PARTIAL = "partial"
        FULL = "full"
        BLOCKED = "blocked"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="slots")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="slots")
    rule = models.ForeignKey(AvailabilityRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    date = models.DateField(help_text="Local date at the location/person")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)
    hold = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["start_at", "id"]
        indexes = [
            models.Index(fields=["org", "location", "date"]),
            models.Index(fields=["org", "person", "date"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "person", "start_at"],
                condition=models.Q(person__isnull=False),
                name="uniq_slot_location_person_start",
            ),
            models.UniqueConstraint(
                fields=["location", "start_at"],
                condition=models.Q(person__isnull=True),
                name="uniq_slot_location_start",
            ),
            models.CheckConstraint(
                condition=models.Q(booked__gte=0, hold__gte=0)
                & models.Q(booked__lte=models.F("capacity") - models.F("hold")),
                name="slot_never_oversold",
            ),
            models.CheckConstraint(condition=models.Q(end_at__gt=models.F("start_at")), name="slot_order"),
        ]

    def __str__(self):
        return f"{self.start_at:%Y-%m-%d %H:%M}Z ({self.booked}+{self.hold}/{self.capacity})"

    @property
    def remaining(self) -> int:
        """Seats left; reads annotate `live_hold` (holds not past expiry) so an expired hold
        never counts, whether or not the minutely job ran."""
        return max(0, self.capacity - self.booked - getattr(self, "live_hold", self.hold))

    def refresh_status(self) -> None:
        if self.status == self.Status.BLOCKED:
            return
        used = self.booked + self.hold
        self.status = self.Status.FULL if used >= self.capacity else self.Status.PARTIAL if used else self.Status.OPEN
