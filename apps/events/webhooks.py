"""Signed webhooks (Standard Webhooks) for every event of the outbox: which endpoints get an
event, the claim (lease) of one try, the HTTP call — made outside any transaction, holding
no row lock — and its record (an attempt row, the backoff, `failed` after ~1 day)."""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.events import metrics
from apps.events.delivery import webhook_targets_for
from apps.events.enqueue import queued_lease
from apps.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
_client: httpx.Client | None = None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def endpoints_for(event: Event) -> list[WebhookEndpoint]:
    """The org's live subscribed endpoints whose prefix filter accepts the event, plus the
    targets other apps register (an event type's webhook_url)."""
    subscribed = WebhookEndpoint.objects.filter(org_id=event.org_id, owner="", active=True, deleted_at__isnull=True)
    endpoints = [e for e in subscribed if e.accepts(event.type)]
    return endpoints + [e for e in webhook_targets_for(event) if e.active and e.deleted_at is None]


def deliveries_create(event: Event) -> list[tuple[str, str]]:
    """One pending delivery per target, claimed for the enqueue that follows; returns the
    (delivery id, lease token) pairs. A re-dispatch of the event adds no second row."""
    now = timezone.now()
    rows = [
        WebhookDelivery(
            org_id=event.org_id,
            event=event,
            endpoint=endpoint,
            url=endpoint.url,
            next_attempt_at=now + queued_lease(),
            lease_token=uuid.uuid4(),
        )
        for endpoint in endpoints_for(event)
    ]
    if not rows:
        return []
    existing = set(
        WebhookDelivery.objects.filter(event=event, endpoint__in=[r.endpoint for r in rows]).values_list(
            "endpoint_id", flat=True
        )
    )
    rows = [r for r in rows if r.endpoint_id not in existing]
    WebhookDelivery.objects.bulk_create(rows)
    return [(str(r.pk), str(r.lease_token)) for r in rows]


def deliveries_claim_due(*, limit: int = 500) -> list[tuple[str, str]]:
    """Claim pending deliveries whose backoff (or lost task's lease) has run out."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .only("id")[:limit]
        )
        for delivery in due:
            delivery.next_attempt_at, delivery.lease_token, delivery.sending = now + queued_lease(), uuid.uuid4(), False
        WebhookDelivery.objects.bulk_update(due, ["next_attempt_at", "lease_token", "sending"])
    return [(str(d.pk), str(d.lease_token)) for d in due]


def _claim(delivery_id):
    """Take the one in-flight try: a queued (leased) delivery, or any pending one whose
    backoff or in-flight lease (a killed worker's) ran out. No transaction stays open."""
    now = timezone.now()
    running = uuid.uuid4()
    queued = Q(sending=False) & (Q(lease_token__isnull=False) | Q(next_attempt_at__lte=now))
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING)
        .filter(queued | Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
        .update(
            lease_token=running,
            sending=True,
            next_attempt_at=now
            + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_LEASE_MARGIN_SECONDS),
        )
    )
    return running if claimed else None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)
    return _client


def deliver(delivery_id, lease_token: str | None = None) -> str:
    """One try. Returns the delivery's status afterwards, or `skipped` (delivered, backing
    off, or in flight elsewhere). `lease_token` is the queued claim's; any copy may take it."""
    running = _claim(delivery_id)
    if running is None:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("event", "org", "endpoint").get(pk=delivery_id)
    body = json.dumps(delivery.event.envelope(delivery.org.slug), cls=DjangoJSONEncoder, separators=(",", ":"))
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "SchedKit-Webhooks/1",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.endpoint.secret, delivery.webhook_id, timestamp, body),
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        response = _http().post(
            delivery.endpoint.url, content=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        )
        status_code = response.status_code
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return _record(delivery, running, status_code, error, int((time.monotonic() - started) * 1000))


def _record(delivery: WebhookDelivery, running, status_code, error, duration_ms) -> str:
    ok = status_code is not None and 200 <= status_code < 300
    metrics.WEBHOOK_ATTEMPTS.labels("ok" if ok else "error").inc()
    backoff = settings.WEBHOOK_BACKOFF
    attempts = delivery.attempts + 1
    now = timezone.now()
    if ok:
        changes = {"status": Status.DELIVERED, "next_attempt_at": None, "delivered_at": now}
    elif attempts > len(backoff):
        changes = {"status": Status.FAILED, "next_attempt_at": None}
        logger.warning("webhook %s to %s failed after %s tries", delivery.pk, delivery.url, attempts)
    else:
        changes = {"next_attempt_at": now + timedelta(seconds=backoff[attempts - 1])}
    with transaction.atomic():
        WebhookAttempt.objects.create(
            org_id=delivery.org_id, delivery=delivery, status_code=status_code, error=error, duration_ms=duration_ms
        )
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING, lease_token=running).update(
            attempts=F("attempts") + 1,
            lease_token=None,
            sending=False,
            last_status_code=status_code,
            updated_at=now,
            **changes,
        )
        if not updated:  # cancelled (endpoint deleted) while the request ran, or taken over: count the try
            WebhookDelivery.objects.filter(pk=delivery.pk, lease_token=running).update(sending=False, lease_token=None)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, updated_at=now)
            return WebhookDelivery.objects.filter(pk=delivery.pk).values_list("status", flat=True).first() or "gone"
    return changes.get("status", Status.PENDING)
