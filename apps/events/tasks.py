from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from apps.events.delivery import handlers_for
from apps.events.models import Event

RELAY_AFTER = timedelta(seconds=30)


@shared_task(
    name="events.dispatch", autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=None
)
def dispatch_event(event_id: str) -> bool:
    """Hand one event to its delivery handlers, exactly once (row lock + dispatched_at)."""
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id, dispatched_at__isnull=True).first()
        if event is None:
            return False  # already dispatched (a relay duplicate) or gone
        for handler in handlers_for(event.type):
            handler(event)
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at", "updated_at"])
    return True


@shared_task(name="events.outbox_relay")
def outbox_relay(limit: int = 500) -> int:
    """Re-enqueue events whose hand-off never happened (broker outage, killed process)."""
    cutoff = timezone.now() - RELAY_AFTER
    ids = list(
        Event.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    for event_id in ids:
        dispatch_event.delay(str(event_id))
    return len(ids)
