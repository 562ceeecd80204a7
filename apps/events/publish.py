"""The one way a change becomes an event: `publish_on_commit(org=…, type=…, data=…)`.

Inside the caller's transaction `publish_on_commit` writes the event row (outbox), already
claimed by a lease for the enqueue that follows; after commit, and only then, it broadcasts
the envelope to the org's channel-layer group and enqueues its dispatch. A rolled-back
change publishes nothing.

A failed enqueue follows `apps.events.enqueue`'s one policy: the event stays undispatched
and the outbox relay picks it up when the lease runs out."""

import json
import logging
import uuid
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from apps.events.enqueue import enqueue_now, queued_lease
from apps.events.models import Event
from apps.events.tasks import dispatch_event
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


async def abroadcast(org_id, envelope: dict) -> bool:
    """`broadcast` from an event loop (the same best effort: a failure is counted and logged)."""
    try:
        await get_channel_layer().group_send(org_group(org_id), {"type": "event.message", "event": envelope})
        return True
    except Exception:  # noqa: BLE001 - real time is best effort; the outbox keeps the record
        metrics.EVENT_BROADCAST_FAILURES.inc()
        logger.exception("broadcast of %s to org %s failed", envelope.get("type"), org_id)
        return False


def _after_commit(event_id, org_id, envelope, token):
    broadcast(org_id, envelope)
    enqueue_now(dispatch_event, str(event_id), str(token))


def publish_on_commit(*, org, type: str, data: dict) -> Event:
    token = uuid.uuid4()
    event = Event.objects.create(
        org=org, type=type, data=_plain(data), lease_until=timezone.now() + queued_lease(), lease_token=token
    )
    metrics.EVENTS_PUBLISHED.labels(type).inc()
    transaction.on_commit(partial(_after_commit, event.pk, org.pk, event.envelope(org.slug), token))
    return event
