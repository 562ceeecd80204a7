"""The outbox's dispatch and relay. A dispatch runs the event's delivery handlers once, in
one transaction; a failure is retried with backoff (`EVENTS_DISPATCH_BACKOFF`), then the
event is dead. The relay re-claims every event whose lease ran out — never one whose
dispatch is still queued or backing off — so a poison event never grows the queue."""

import logging
import traceback
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.events import metrics
from apps.events.delivery import handlers_for
from apps.events.enqueue import queued_lease
from apps.events.models import Event

logger = logging.getLogger(__name__)


def event_dispatch(*, event_id, lease_token: str | None = None) -> str:
    """Run the event's handlers. Returns dispatched, retrying, dead or skipped (already done,
    dead, or backing off after a failure)."""
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.dispatched_at or event.dead_at:
            return "skipped"
        # Any queued copy may dispatch (the row lock serializes them); a copy left over from
        # before a failure may not, while the event backs off (no token, lease in the future).
        backing_off = event.lease_token is None and event.lease_until and event.lease_until > now
        if backing_off and lease_token is not None:
            return "skipped"
        try:
            with transaction.atomic():
                for handler in handlers_for(event.type):
                    handler(event)
        except Exception as exc:  # noqa: BLE001 - a handler's bug or outage: retried, then dead
            return _failed(event, exc, now)
        event.dispatched_at, event.lease_until, event.lease_token = now, None, None
        event.save(update_fields=["dispatched_at", "lease_until", "lease_token", "updated_at"])
    return "dispatched"


def _failed(event: Event, exc: Exception, now) -> str:
    backoff = settings.EVENTS_DISPATCH_BACKOFF
    event.attempts += 1
    event.last_error = "".join(traceback.format_exception_only(exc))[-2000:]
    event.lease_token = None
    if event.attempts > len(backoff):
        event.dead_at, event.lease_until = now, None
        logger.error("event %s (%s) is dead after %s attempts: %s", event.pk, event.type, event.attempts, exc)
    else:
        event.lease_until = now + timedelta(seconds=backoff[event.attempts - 1])
        logger.warning("dispatch of event %s (%s) failed (attempt %s): %s", event.pk, event.type, event.attempts, exc)
    event.save(update_fields=["attempts", "last_error", "lease_token", "dead_at", "lease_until", "updated_at"])
    metrics.DISPATCH_FAILURES.labels(event.type).inc()
    return "dead" if event.dead_at else "retrying"


def outbox_claim_due(*, limit: int = 500) -> list[tuple[str, str]]:
    """Claim (lease) up to `limit` undispatched, live events whose lease ran out: the caller
    enqueues one dispatch for each. Concurrent relays skip each other's rows."""
    now = timezone.now()
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, dead_at__isnull=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .order_by("lease_until")
            .only("id")[:limit]
        )
        for event in events:
            event.lease_until, event.lease_token = now + queued_lease(), uuid.uuid4()
        Event.objects.bulk_update(events, ["lease_until", "lease_token"])
    return [(str(e.pk), str(e.lease_token)) for e in events]


def event_revive(*, actor, event: Event) -> Event:
    """A dead (or backing-off) event gets a fresh retry budget and is due at once (admin)."""
    Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
        dead_at=None, attempts=0, lease_until=None, lease_token=None, updated_at=timezone.now()
    )
    event.refresh_from_db()
    return event
