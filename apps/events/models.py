"""The outbox (Event) and its durable fan-out to HTTP receivers (webhook endpoints,
deliveries, attempts). Every unit of outbound work is a row before it is a Celery task, so a
lost task (broker outage, killed worker) is found again by a sweep; a lease on the row
keeps the sweep from queueing a second copy of work already queued."""

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from apps.orgs.models import OrgOwnedModel


class Event(OrgOwnedModel):
    """A domain event, written in the same transaction as the change it describes (outbox).

    `dispatched_at` is set once its delivery handlers ran. Until then `lease_until` says when
    the relay may enqueue it again: the publisher claims it at insert (the after-commit
    enqueue), the relay re-claims it when the lease has run out, and a failed dispatch pushes
    the lease out by the backoff. After the retry budget the event is dead (`dead_at`)."""

    class State(models.TextChoices):
        PENDING = "pending"
        RETRYING = "retrying"
        DISPATCHED = "dispatched"
        DEAD = "dead"

    type = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed dispatch attempts")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="Queued or backing off until")
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["org", "id"]),
            models.Index(
                fields=["lease_until"],
                condition=models.Q(dispatched_at__isnull=True, dead_at__isnull=True),
                name="event_undispatched_idx",
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"

    @property
    def state(self) -> str:
        if self.dispatched_at:
            return self.State.DISPATCHED
        if self.dead_at:
            return self.State.DEAD
        return self.State.RETRYING if self.attempts else self.State.PENDING

    def envelope(self, org_slug: str) -> dict:
        return {
            "id": str(self.id),
            "type": self.type,
            "org": org_slug,
            "ts": self.created_at.isoformat(),
            "data": self.data,
        }


def validate_prefixes(value: str) -> None:
    for prefix in split_prefixes(value):
        if not all(part.replace("_", "").isalnum() or part == "" for part in prefix.split(".")) or len(prefix) > 64:
            raise ValidationError(f"{prefix!r} is not an event type prefix (e.g. booking. or signal.alert).")


def split_prefixes(value: str) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


class WebhookEndpoint(OrgOwnedModel):
    """An HTTP receiver of the org's events, signed per Standard Webhooks with its own secret.

    `event_prefix` filters by event type: comma-separated prefixes (`booking.,incident.`),
    empty for every event. `owner` names the object that manages a hidden endpoint (an event
    type's `webhook_url` is `event_type:<id>`); org endpoints have none. Deleting an endpoint
    keeps its delivery log and cancels what is still pending."""

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, help_text="whsec_… (Standard Webhooks)")
    event_prefix = models.CharField(max_length=500, blank=True, validators=[validate_prefixes])
    owner = models.CharField(max_length=80, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.url

    def accepts(self, event_type: str) -> bool:
        prefixes = split_prefixes(self.event_prefix)
        return not prefixes or any(event_type.startswith(p) for p in prefixes)


class WebhookDelivery(OrgOwnedModel):
    """One event to one endpoint; retried with backoff until delivered or failed (~1 day).

    `next_attempt_at` doubles as the lease: while a try is queued or in flight it lies in the
    future, so the retry sweep never queues a second copy. A queued try (`lease_token` set) may
    be taken by any copy of its task — under a backlog the sweep may have queued another —
    but only one at a time: taking it sets `sending` until the try is recorded."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        CANCELLED = "cancelled"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    url = models.URLField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    sending = models.BooleanField(default=False, help_text="A try is in flight (its lease covers the HTTP call)")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="uniq_webhook_delivery")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_delivery_due_idx"
            )
        ]

    def __str__(self):
        return f"{self.url} {self.status}"

    @property
    def webhook_id(self) -> str:
        """Standard Webhooks' `webhook-id`: the same on every retry of this event to this endpoint."""
        return f"msg_{self.event_id.hex}_{self.endpoint_id.hex[-12:]}"


class WebhookAttempt(OrgOwnedModel):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.status_code or self.error}"
