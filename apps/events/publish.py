"""The one way a change becomes an event: `publish_on_commit(org=…, type=…, data=…)`.

Inside the caller's transaction it writes the event row (outbox); after commit, and only
then, it broadcasts the envelope to the org's channel-layer group and hands the event to
Celery for delivery. A rolled-back change publishes nothing. A failed broadcast or enqueue is
logged and never fails the caller; the outbox relay re-enqueues undelivered events."""

import json
import logging
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.events.models import Event
from schedkit.ops import metrics

logger = logging.getLogger(__name__)


def org_group(org_id) -> str:
    return f"org.{org_id.hex if hasattr(org_id, 'hex') else org_id}"


def _plain(data: dict) -> dict:
    # UUIDs, datetimes, decimals → JSON types, so every channel layer can carry the payload.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def broadcast(org_id, envelope: dict) -> bool:
    """Send an envelope to the org's live subscribers now (no persistence)."""
    try:
        async_to_sync(get_channel_layer().group_send)(org_group(org_id), {"type": "event.message", "event": envelope})
        return True
    except Exception:  # noqa: BLE001 - real time is best effort; the outbox keeps the record
        metrics.EVENT_BROADCAST_FAILURES.inc()
        logger.exception("broadcast of %s to org %s failed", envelope.get("type"), org_id)
        return False


async def abroadcast(org_id, envelope: dict) -> None:
    await get_channel_layer().group_send(org_group(org_id), {"type": "event.message", "event": envelope})


def _after_commit(event_id, org_id, envelope):
    from apps.events.tasks import dispatch_event

    broadcast(org_id, envelope)
    try:
        dispatch_event.delay(str(event_id))
    except Exception:  # noqa: BLE001 - broker down: the relay picks the event up later
        logger.warning("could not enqueue delivery of event %s; the outbox relay will retry", event_id)


def publish_on_commit(*, org, type: str, data: dict) -> Event:
    event = Event.objects.create(org=org, type=type, data=_plain(data))
    metrics.EVENTS_PUBLISHED.labels(type).inc()
    transaction.on_commit(partial(_after_commit, event.pk, org.pk, event.envelope(org.slug)))
    return event
