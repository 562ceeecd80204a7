"""Every write on webhook endpoints and deliveries, and the webhook fan-out of each event."""

import uuid

from django.db import transaction
from django.utils import timezone

from apps.events.delivery import register
from apps.events.enqueue import enqueue_on_commit, queued_lease
from apps.events.models import Event, WebhookDelivery, WebhookEndpoint
from apps.events.tasks import webhook_deliver
from apps.events.webhooks import deliveries_create, new_secret

Status = WebhookDelivery.Status


@register("")
def webhooks_fan_out(event: Event) -> None:
    """Every event, in its dispatch transaction: one delivery row per endpoint that wants
    it, each enqueued after commit (a refused enqueue leaves the row to the sweep)."""
    for delivery_id, token in deliveries_create(event):
        enqueue_on_commit(webhook_deliver, delivery_id, token)


def webhook_endpoint_create(
    *, actor, url: str, event_prefix: str = "", owner: str = "", org_id=None
) -> WebhookEndpoint:
    """The secret is on the returned object: the API shows it this once. `org_id` names the
    org when no actor acts (a system write, e.g. an event type's hidden endpoint)."""
    endpoint = WebhookEndpoint(
        org_id=org_id or actor.org_id, url=url, event_prefix=event_prefix, owner=owner, secret=new_secret()
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def webhook_endpoint_update(*, actor, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    for field, value in changes.items():
        setattr(endpoint, field, value)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret, used for every try from now on (retries of older events included)."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


def webhook_endpoint_delete(*, actor, endpoint: WebhookEndpoint) -> int:
    """Soft delete (the delivery log stays) and cancel every pending delivery, so no retry
    reaches a deleted endpoint. Returns how many were cancelled."""
    now = timezone.now()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, deleted_at=now, updated_at=now)
        return WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
            status=Status.CANCELLED, next_attempt_at=None, lease_token=None, updated_at=now
        )


def webhook_redeliver(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Try again now (a failed or delivered one too), unless its endpoint was deleted."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if delivery.endpoint.deleted_at is None:
            delivery.status = Status.PENDING
            delivery.next_attempt_at = timezone.now() + queued_lease()
            delivery.lease_token = uuid.uuid4()
            delivery.save(update_fields=["status", "next_attempt_at", "lease_token", "updated_at"])
            enqueue_on_commit(webhook_deliver, str(delivery.pk), str(delivery.lease_token))
    return delivery
