"""Thin Celery tasks of the outbox: dispatch one event, deliver one webhook try, and the two
sweeps beat runs (`EVENTS_RELAY_SECONDS`, `WEBHOOK_SWEEP_SECONDS`). None retries itself:
the rows' leases and backoff drive every retry, so no second copy is ever queued."""

from celery import shared_task

from apps.events import outbox, webhooks
from apps.events.enqueue import enqueue_now


@shared_task(name="events.dispatch")
def dispatch_event(event_id: str, lease_token: str | None = None) -> str:
    return outbox.event_dispatch(event_id=event_id, lease_token=lease_token)


@shared_task(name="events.outbox_relay")
def outbox_relay(limit: int = 500) -> int:
    """Enqueue the events whose lease ran out (enqueue refused, worker killed, backoff over)."""
    claims = outbox.outbox_claim_due(limit=limit)
    for event_id, token in claims:
        enqueue_now(dispatch_event, event_id, token)
    return len(claims)


@shared_task(name="events.webhook_deliver")
def webhook_deliver(delivery_id: str, lease_token: str | None = None) -> str:
    return webhooks.deliver(delivery_id, lease_token)


@shared_task(name="events.webhook_sweep")
def webhook_sweep(limit: int = 500) -> int:
    """Enqueue the webhook tries whose backoff (or a lost task's lease) has run out."""
    claims = webhooks.deliveries_claim_due(limit=limit)
    for delivery_id, token in claims:
        enqueue_now(webhook_deliver, delivery_id, token)
    return len(claims)
