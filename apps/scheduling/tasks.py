from celery import shared_task
from django.conf import settings

from apps.scheduling.services import slots_generate_all


@shared_task(name="scheduling.slots_generate")
def slots_generate_task() -> int:
    """Hourly: keep slots materialized ahead (idempotent, so overlapping runs are harmless)."""
    return slots_generate_all(horizon_days=getattr(settings, "SLOTS_HORIZON_DAYS", 28))
