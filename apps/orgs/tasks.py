from celery import shared_task
from django.core.mail import send_mail

from apps.orgs.models import Org


@shared_task(name="orgs.send_invite_email", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_invite_email(email: str, org_name: str, role: str, url: str) -> None:
    send_mail(
        subject=f"You are invited to {org_name} on SchedKit",
        message=(
            f"You have been invited to join {org_name} as {role}.\n\nOpen this link to accept and sign in:\n{url}\n"
        ),
        from_email=None,
        recipient_list=[email],
    )


@shared_task(name="orgs.demo_beacons", ignore_result=True)
def demo_beacons() -> int:
    """Keeps the demo org's responders moving on the live map (embedded default only, see
    DEMO_BEACONS): a no-op unless seed_demo made the demo org."""
    # Imported here, not at the top: the demo builder uses every app's services, and
    # apps.orgs.services imports this module (a top-level import would be a circle).
    from apps.orgs import demo

    org = Org.objects.filter(slug=demo.DEMO_ORG, is_active=True).first()
    return demo.beacons_ping(org) if org is not None else 0
