"""Signed webhooks (Standard Webhooks): every booking.* event goes to the event type's
webhook_url and the org's active endpoints. Each delivery is a row; each try is logged."""

import base64
import hashlib
import hmac
import json
import secrets
import time

import httpx
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from apps.bookings import metrics
from apps.bookings.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.events.delivery import register

TIMEOUT = 5.0
# Backoff after attempt n (seconds): ~1 day in total, then the delivery is given up.
BACKOFF = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@register("booking.")
def enqueue_booking_webhooks(event) -> None:
    """Called by events.dispatch inside its transaction: one delivery row per receiver."""
    from apps.bookings.tasks import webhook_deliver

    targets = [(e.pk, e.url, e.secret) for e in WebhookEndpoint.objects.filter(org_id=event.org_id, active=True)]
    event_type_id = (event.data or {}).get("event_type_id")
    if event_type_id:
        et = EventType.objects.filter(pk=event_type_id).only("webhook_url", "org_id").first()
        if et is not None and et.webhook_url:
            endpoint = WebhookEndpoint.objects.filter(org_id=et.org_id, url=et.webhook_url, active=False).first()
            if endpoint is None:  # the event type's URL gets its own (inactive, per-URL) secret holder
                endpoint = WebhookEndpoint.objects.create(
                    org_id=et.org_id, url=et.webhook_url, secret=new_secret(), active=False
                )
            targets.append((endpoint.pk, endpoint.url, endpoint.secret))
    for endpoint_id, url, secret in targets:
        delivery = WebhookDelivery.objects.create(
            org_id=event.org_id,
            event=event,
            endpoint_id=endpoint_id,
            url=url,
            secret=secret,
            next_attempt_at=timezone.now(),
        )
        transaction.on_commit(lambda pk=str(delivery.pk): _enqueue(webhook_deliver, pk))


def _enqueue(task, *args):
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001 - the retry sweep picks pending deliveries up
        pass


def deliver(delivery_id) -> str:
    """One attempt. Returns the delivery's status afterwards."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update().select_related("event", "org").filter(pk=delivery_id).first()
        )
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return getattr(delivery, "status", "gone")
        envelope = delivery.event.envelope(delivery.org.slug)
        body = json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))
        msg_id = f"msg_{delivery.event_id}"
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(delivery.secret, msg_id, timestamp, body),
        }
        started = time.monotonic()
        status_code, error = None, ""
        try:
            response = httpx.post(delivery.url, content=body, headers=headers, timeout=TIMEOUT)
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        WebhookAttempt.objects.create(
            org_id=delivery.org_id,
            delivery=delivery,
            status_code=status_code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        delivery.attempts += 1
        ok = status_code is not None and 200 <= status_code < 300
        metrics.WEBHOOK_ATTEMPTS.labels("ok" if ok else "error").inc()
        if status_code is not None and 200 <= status_code < 300:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.DELIVERED, None
        elif delivery.attempts >= len(BACKOFF) + 1:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            delay = BACKOFF[delivery.attempts - 1]
            delivery.next_attempt_at = timezone.now() + timezone.timedelta(seconds=delay)
        delivery.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
        return delivery.status


def webhook_redeliver(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
    from apps.bookings.tasks import webhook_deliver

    transaction.on_commit(lambda: _enqueue(webhook_deliver, str(delivery.pk)))
    return delivery
