from celery import shared_task
from django.utils import timezone

from schedkit.api.models import IdempotencyKey


@shared_task(name="api.idempotency_prune")
def idempotency_prune() -> int:
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
