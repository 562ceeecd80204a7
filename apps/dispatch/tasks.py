"""Thin Celery tasks: timers (ETA + beat sweep), auto-dispatch, and the responder's notices."""

import logging

from celery import shared_task
from django.core.mail import send_mail

from apps.dispatch import links, services
from apps.dispatch.models import Assignment
from apps.events.enqueue import enqueue_now
from apps.events.models import Event
from apps.incidents.models import Incident
from apps.orgs.models import Membership
from apps.signals import push
from apps.signals.models import PushSubscription
from apps.signals.tasks import send_push
from schedkit.api.problems import Problem

logger = logging.getLogger(__name__)


@shared_task(name="dispatch.fire_timer", autoretry_for=(Exception,), retry_backoff=1, max_retries=10)
def fire_timer(timer_id: str) -> bool:
    return services.escalation_timer_fire(timer_id=timer_id)


@shared_task(name="dispatch.escalation_sweep")
def escalation_sweep() -> int:
    return services.escalation_sweep()


@shared_task(name="dispatch.auto_dispatch", autoretry_for=(Exception,), retry_backoff=1, max_retries=5)
def auto_dispatch(incident_id: str) -> str:
    incident = Incident.objects.select_related("org").filter(pk=incident_id).first()
    if incident is None:
        return "gone"
    try:
        run, _ = services.dispatch_start(actor=None, incident=incident, label="auto-dispatch")
    except Problem as exc:  # not active any more, and the like: nothing to retry
        logger.info("auto-dispatch of %s skipped: %s", incident_id, exc.code)
        return exc.code
    return str(run.pk)


def _offer_text(assignment: Assignment) -> tuple[str, str]:
    incident = assignment.incident
    where = incident.location_name or (f"{incident.lat},{incident.lng}" if incident.lat is not None else "")
    title = f"Dispatched: {incident.title}"[:200]
    at = f" at {where}" if where else ""
    body = f"{incident.priority} incident{at}. Acknowledge by {assignment.ack_deadline:%H:%M:%S} UTC."
    return title, body


@shared_task(name="dispatch.notify_offer", autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def notify_offer(assignment_id: str) -> int:
    """Push (every browser of the responder), ntfy (the org's topic) and email, with the
    signed links. Each push is its own retried task (apps.signals.tasks.send_push)."""
    assignment = Assignment.objects.select_related("incident__org", "membership__user").filter(pk=assignment_id).first()
    if assignment is None or assignment.state != Assignment.State.OFFERED:
        return 0
    title, body = _offer_text(assignment)
    page = links.responder_page_url(assignment)
    sent = 0
    if push.vapid_configured():
        payload = {
            "type": "dispatch.offered",
            "id": str(assignment.pk),
            "org": assignment.incident.org.slug,
            "title": title,
            "body": body,
            "lat": assignment.incident.lat,
            "lng": assignment.incident.lng,
            "url": page,
            "ack_url": links.action_url(assignment, "ack"),
            "decline_url": links.action_url(assignment, "decline"),
        }
        for subscription_id in PushSubscription.objects.filter(
            org_id=assignment.org_id, user_id=assignment.membership.user_id
        ).values_list("id", flat=True):
            enqueue_now(send_push, str(subscription_id), payload, inline_on_failure=True)  # rowless
            sent += 1
    topic = (assignment.incident.org.settings or {}).get("ntfy_topic")
    if topic:
        try:
            name = assignment.membership.user.name or assignment.membership.user.email
            push.send_ntfy(topic, title=title, message=f"{name}: {body}", tags="rotating_light")
            sent += 1
        except Exception:  # noqa: BLE001 - ntfy down never blocks email
            logger.warning("ntfy notice of assignment %s failed", assignment_id)
    email = assignment.membership.user.email
    if email:
        send_mail(
            subject=title,
            message=(
                f"{body}\n\nOpen: {page}\n"
                f"Acknowledge: {links.action_url(assignment, 'ack')}\n"
                f"Decline: {links.action_url(assignment, 'decline')}\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
        sent += 1
    return sent


@shared_task(name="dispatch.notify_members", autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def notify_members(event_id: str) -> int:
    """An escalation's `notify_membership_ids` (a team, the on-call, the admins): email."""
    event = Event.objects.select_related("org").filter(pk=event_id).first()
    if event is None:
        return 0
    data = event.data or {}
    emails = sorted(
        set(
            Membership.objects.filter(org_id=event.org_id, active=True, pk__in=data.get("notify_membership_ids") or [])
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not emails:
        return 0
    what = "nobody acknowledged" if event.type == "dispatch.exhausted" else "escalated to you"
    send_mail(
        subject=f"[{event.org.name}] Dispatch {what}: {data.get('incident_title', '')}"[:200],
        message=f"Incident: /incidents/{data.get('incident_id')}/\nStep: {data.get('step')}\n",
        from_email=None,
        recipient_list=emails,
    )
    return len(emails)
