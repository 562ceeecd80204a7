from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from apps.orgs.models import OrgOwnedModel


class Event(OrgOwnedModel):
    """A domain event, written in the same transaction as the change it describes (outbox).
    `dispatched_at` is set once Celery has handed it to delivery; the relay re-enqueues any
    event left undispatched (broker down, process killed)."""

    type = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["org", "id"]),
            models.Index(
                fields=["created_at"], condition=models.Q(dispatched_at__isnull=True), name="event_undispatched_idx"
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"

    def envelope(self, org_slug: str) -> dict:
        return {
            "id": str(self.id),
            "type": self.type,
            "org": org_slug,
            "ts": self.created_at.isoformat(),
            "data": self.data,
        }
