"""An event type's own `webhook_url`: a hidden endpoint of apps.events owned by the event type
(`owner="event_type:<id>"`) with its own secret — shown once when the URL is first set and
rotatable — that receives the booking.* events of that event type only."""

from apps.bookings.models import EventType
from apps.events.delivery import register_webhook_targets
from apps.events.models import WebhookEndpoint
from apps.events.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)


def _owner(event_type_id) -> str:
    return f"event_type:{event_type_id}"


def _endpoint(event_type: EventType) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(
        org_id=event_type.org_id, owner=_owner(event_type.pk), deleted_at__isnull=True
    ).first()


def event_type_webhook_sync(*, actor, event_type: EventType) -> str | None:
    """After an event type is saved: its webhook_url has (or loses) its endpoint. Returns the
    secret when one was just issued, for the API to show this once."""
    endpoint = _endpoint(event_type)
    if not event_type.webhook_url:
        if endpoint is not None:
            webhook_endpoint_delete(actor=actor, endpoint=endpoint)
        return None
    if endpoint is None:
        endpoint = webhook_endpoint_create(
            actor=actor,
            org_id=event_type.org_id,
            url=event_type.webhook_url,
            event_prefix="booking.",
            owner=_owner(event_type.pk),
        )
        return endpoint.secret
    if endpoint.url != event_type.webhook_url:
        webhook_endpoint_update(actor=actor, endpoint=endpoint, url=event_type.webhook_url)
    return None


def event_type_webhook_rotate(*, actor, event_type: EventType) -> str | None:
    """A new secret for the event type's webhook_url (None when it has none)."""
    endpoint = _endpoint(event_type)
    if endpoint is None:
        return event_type_webhook_sync(actor=actor, event_type=event_type)
    return webhook_endpoint_rotate_secret(actor=actor, endpoint=endpoint).secret


@register_webhook_targets("booking.")
def event_type_targets(event) -> list[WebhookEndpoint]:
    event_type_id = (event.data or {}).get("event_type_id")
    if not event_type_id:
        return []
    event_type = EventType.objects.filter(pk=event_type_id, org_id=event.org_id).only("org_id", "webhook_url").first()
    if event_type is None or not event_type.webhook_url:
        return []
    endpoint = _endpoint(event_type)
    if endpoint is None:  # an event type saved outside the API (admin, fixtures): its secret via rotation
        event_type_webhook_sync(actor=None, event_type=event_type)
        endpoint = _endpoint(event_type)
    return [endpoint]
