import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="bookings.holds_expire")
def holds_expire_task() -> int:
    from apps.bookings.services import holds_expire_due

    return holds_expire_due()


@shared_task(name="bookings.webhook_deliver")
def webhook_deliver(delivery_id: str) -> str:
    from apps.bookings.webhooks import deliver

    return deliver(delivery_id)


@shared_task(name="bookings.webhook_retry")
def webhook_retry_task(limit: int = 500) -> int:
    """Every minute: attempt the deliveries whose backoff has elapsed."""
    from apps.bookings.models import WebhookDelivery

    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("id", flat=True)[:limit]
    )
    for delivery_id in due:
        webhook_deliver.delay(str(delivery_id))
    return len(due)


@shared_task(name="bookings.send_email", autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def send_booking_email(booking_id: str, raw_token: str | None, kind: str) -> bool:
    from apps.bookings.emails import send_booking_email as send

    return send(booking_id=booking_id, raw_token=raw_token, kind=kind)
