"""Incident emails, one retried Celery task per recipient (enqueued after commit by the
services)."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from apps.incidents.models import Incident


@shared_task(name="incidents.send_breach_email", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_breach_email(incident_id: str, email: str) -> bool:
    incident = Incident.objects.select_related("org").filter(pk=incident_id).first()
    if incident is None:
        return False
    send_mail(
        subject=f"[{incident.org.name}] SLA breached: {incident.title}",
        message=(
            f"The {incident.priority} incident {incident.title!r} passed its SLA due time "
            f"({incident.sla_due_at.isoformat()}) while {incident.status}.\n\n"
            f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/\n"
        ),
        from_email=None,
        recipient_list=[email],
    )
    return True
