from django.db import models

from schedkit.db import BaseModel


class IdempotencyKey(BaseModel):
    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    actor_ref = models.CharField(max_length=80, help_text="apikey:<id>, user:<id> or anon:<client>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["actor_ref", "key"], name="uniq_idempotency_actor_key")]
        verbose_name = "idempotency key"

    def __str__(self):
        return f"{self.actor_ref} {self.key} ({self.state})"
