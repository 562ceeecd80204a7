"""Thin Celery tasks: load by id, call the service or the outbound client, own the retries."""

import logging

from celery import shared_task
from django.utils import timezone

from apps.events.enqueue import enqueue_now
from apps.events.models import Event
from apps.signals import push, services
from apps.signals.models import PushSubscription

logger = logging.getLogger(__name__)


@shared_task(name="signals.sweep_stale_beacons")
def sweep_stale_beacons() -> int:
    return services.beacon_sweep()


def _alert_payload(event: Event) -> dict:
    data = event.data or {}
    if event.type.startswith("incident."):
        breach = event.type == "incident.updated"
        what = "SLA breached" if breach else f"{str(data.get('priority') or '').capitalize()} incident"
        return {
            "type": "incident.sla_breached" if breach else event.type,
            "id": str(event.pk),
            "org": event.org.slug,
            "title": f"{what}: {data.get('title') or 'untitled'}",
            "body": data.get("title") or "",
            "lat": data.get("lat"),
            "lng": data.get("lng"),
            "url": f"/incidents/{data.get('id')}/",
        }
    return {
        "type": "signal.alert",
        "id": str(event.pk),
        "org": event.org.slug,
        "title": data.get("title") or "Alert",
        "body": data.get("text", ""),
        "lat": data.get("lat"),
        "lng": data.get("lng"),
        "url": "/signals/map/",
    }


@shared_task(name="signals.push_alert")
def push_alert(event_id: str) -> int:
    """Fan an alert out to every browser subscribed by the org's other active members."""
    event = Event.objects.select_related("org").filter(pk=event_id).first()
    if event is None:
        return 0
    if not push.vapid_configured():
        logger.warning("alert %s: web push skipped, VAPID keys are not configured", event_id)
        return 0
    sender = (event.data.get("sender") or {}).get("user_id")
    subscriptions = PushSubscription.objects.filter(
        org_id=event.org_id,
        user__memberships__org_id=event.org_id,
        user__memberships__active=True,
    )
    if sender:
        subscriptions = subscriptions.exclude(user_id=sender)
    ids = list(subscriptions.values_list("id", flat=True).distinct())
    payload = _alert_payload(event)
    for subscription_id in ids:
        # Rowless (a push of the moment): sent inline if the broker refuses it.
        enqueue_now(send_push, str(subscription_id), payload, inline_on_failure=True)
    return len(ids)


@shared_task(
    name="signals.send_push",
    bind=True,
    autoretry_for=(push.PushFailed,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=5,
)
def send_push(self, subscription_id: str, payload: dict) -> str:
    subscription = PushSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return "gone"
    try:
        push.send_web_push(subscription.info(), payload)
    except push.PushGone:
        logger.info("push subscription %s is gone at the push service; deleting it", subscription_id)
        subscription.delete()
        return "deleted"
    except push.PushFailed:
        PushSubscription.objects.filter(pk=subscription_id).update(failures=subscription.failures + 1)
        logger.warning("push to subscription %s failed (attempt %s)", subscription_id, self.request.retries + 1)
        raise
    PushSubscription.objects.filter(pk=subscription_id).update(last_success_at=timezone.now(), failures=0)
    return "sent"


@shared_task(
    name="signals.ntfy_alert", autoretry_for=(Exception,), retry_backoff=5, retry_backoff_max=600, max_retries=5
)
def ntfy_alert(event_id: str) -> int:
    event = Event.objects.select_related("org").filter(pk=event_id).first()
    if event is None:
        return 0
    topic = (event.org.settings or {}).get("ntfy_topic")
    if not topic:
        return 0
    payload = _alert_payload(event)
    return push.send_ntfy(topic, title=payload["title"], message=payload["body"] or payload["title"])
