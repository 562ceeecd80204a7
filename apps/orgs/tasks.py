from celery import shared_task
from django.core.mail import send_mail


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
