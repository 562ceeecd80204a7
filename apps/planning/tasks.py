"""Thin Celery tasks: load by id, call a service (or the outbound client), own the retries."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from apps.events.enqueue import enqueue_now
from apps.events.models import Event
from apps.orgs.models import Membership
from apps.planning import services
from apps.signals.models import PushSubscription
from apps.signals.tasks import send_push

logger = logging.getLogger(__name__)


@shared_task(name="planning.run_schedule_request")
def run_schedule_request(request_id: str) -> str | None:
    request = services.schedule_request_run(request_id=request_id)
    return request.status if request is not None else None


@shared_task(name="planning.notify_published", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_published(event_id: str, membership_id: str) -> int:
    """One person's share of a published schedule: an email, and a push to each of their
    subscribed browsers (the signals app's push task, with its own retries)."""
    event = Event.objects.select_related("org").filter(pk=event_id).first()
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    if event is None or membership is None or membership.org_id != event.org_id:
        return 0
    data = event.data or {}
    mine = [a for a in data.get("assignments", []) if a.get("membership_id") == str(membership.pk)]
    lines = [f"- {a['start']} – {a['end']}: {a['work_item']['type']} {a['work_item']['id']}" for a in mine]
    url = f"{settings.PUBLIC_BASE_URL}/planning/{data.get('date')}/"
    send_mail(
        subject=f"[{event.org.name}] Your schedule for {data.get('date')}",
        message="\n".join(
            [f"The schedule for {data.get('date')} was published (rev {data.get('rev')}).", "", *lines, "", url]
        ),
        from_email=None,
        recipient_list=[membership.user.email],
    )
    payload = {
        "type": "schedule.published",
        "id": str(event.pk),
        "org": event.org.slug,
        "title": f"Schedule for {data.get('date')} published",
        "body": f"{len(mine)} assignment(s)",
        "url": f"/planning/{data.get('date')}/",
    }
    subscriptions = PushSubscription.objects.filter(org_id=event.org_id, user_id=membership.user_id)
    for subscription_id in subscriptions.values_list("id", flat=True):
        # Rowless (a push of the moment): sent inline if the broker refuses it.
        enqueue_now(send_push, str(subscription_id), payload, inline_on_failure=True)
    return 1 + len(mine)
