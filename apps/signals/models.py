"""Signals: the input layer. Beacon pings are not stored per ping; a `Beacon` row marks an
active beacon (beacon_on … beacon_off) and the live position lives in the cache."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.orgs.models import Membership, OrgOwnedModel, OrgScopedQuerySet, Role

LAT_VALIDATORS = [MinValueValidator(-90.0), MaxValueValidator(90.0)]
LNG_VALIDATORS = [MinValueValidator(-180.0), MaxValueValidator(180.0)]


def capture_upload_to(instance, filename: str) -> str:
    return f"signals/{instance.org_id.hex}/{instance.pk.hex}{instance.capture_extension}"


class Signal(OrgOwnedModel):
    class Type(models.TextChoices):
        BEACON = "beacon"
        CAPTURE = "capture"
        NOTE = "note"
        CHECKIN = "checkin"
        ALERT = "alert"

    type = models.CharField(max_length=16, choices=Type.choices, db_index=True)
    membership = models.ForeignKey(Membership, null=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    #: beacon rows only: "on" (first ping) or "off" (stop or timeout)
    beacon_state = models.CharField(max_length=3, blank=True, choices=[("on", "on"), ("off", "off")])
    beacon = models.ForeignKey("Beacon", null=True, blank=True, on_delete=models.SET_NULL, related_name="signals")
    title = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True, max_length=10_000)
    lat = models.FloatField(null=True, blank=True, validators=LAT_VALIDATORS)
    lng = models.FloatField(null=True, blank=True, validators=LNG_VALIDATORS)
    accuracy_m = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.0)])
    capture = models.FileField(upload_to=capture_upload_to, blank=True, max_length=255)
    capture_content_type = models.CharField(max_length=64, blank=True)
    capture_size = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["org", "type", "id"]), models.Index(fields=["org", "membership", "id"])]

    capture_extension = ""  # set by the service from the sniffed type, for upload_to

    def __str__(self):
        return f"{self.type} {self.id}"

    def clean(self):
        if (self.lat is None) != (self.lng is None):
            raise ValidationError("lat and lng go together.")
        if self.type in (self.Type.CHECKIN, self.Type.BEACON) and self.lat is None:
            raise ValidationError({"lat": f"A {self.type} needs a location (lat, lng)."})
        if self.type == self.Type.NOTE and not self.text.strip():
            raise ValidationError({"text": "A note needs text."})
        if self.type == self.Type.ALERT and not (self.title.strip() or self.text.strip()):
            raise ValidationError({"title": "An alert needs a title or text."})
        if self.type == self.Type.CAPTURE and not self.capture:
            raise ValidationError({"capture": "A capture needs an image file."})
        if self.type == self.Type.BEACON and self.beacon_state not in ("on", "off"):
            raise ValidationError({"beacon_state": "A beacon signal is 'on' or 'off'."})


class BeaconQuerySet(OrgScopedQuerySet):
    def active(self):
        return self.filter(stopped_at__isnull=True)


class Beacon(OrgOwnedModel):
    """One activation of one member's beacon, from beacon_on to beacon_off."""

    class StopReason(models.TextChoices):
        STOPPED = "stopped"
        TIMEOUT = "timeout"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=16, choices=StopReason.choices, blank=True)
    #: the position at beacon_on and at beacon_off (the live position is in the cache)
    lat = models.FloatField(validators=LAT_VALIDATORS)
    lng = models.FloatField(validators=LNG_VALIDATORS)

    objects = BeaconQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership"], condition=models.Q(stopped_at__isnull=True), name="uniq_active_beacon_member"
            )
        ]
        indexes = [models.Index(fields=["org", "stopped_at"])]

    def __str__(self):
        return f"beacon {self.membership_id} {'on' if self.stopped_at is None else 'off'}"

    @property
    def active(self) -> bool:
        return self.stopped_at is None


class PushSubscriptionQuerySet(OrgScopedQuerySet):
    def for_actor(self, actor, action: str = "view"):
        queryset = super().for_actor(actor, action)
        if actor is not None and actor.role in (Role.OWNER, Role.ADMIN):
            return queryset  # admins may see and remove any device of the org
        return queryset.filter(user_id=getattr(actor.user, "pk", None)) if actor is not None else queryset


class PushSubscription(OrgOwnedModel):
    """One browser's Web Push subscription, for one user in one org."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=1000)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    objects = PushSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["org", "endpoint"], name="uniq_push_org_endpoint")]

    def __str__(self):
        return f"push {self.user_id} {self.endpoint[:40]}"

    def info(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}
