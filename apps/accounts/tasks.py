from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from apps.accounts.models import LoginCode


@shared_task(name="accounts.send_login_email", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_login_email(email: str, code: str, link: str) -> None:
    minutes = settings.LOGIN_CODE_TTL_SECONDS // 60
    send_mail(
        subject=f"Your SchedKit sign-in code: {code}",
        message=(
            f"Your sign-in code is {code}\n\nOr open this link to sign in:\n{link}\n\n"
            f"Both expire in {minutes} minutes and work once. If you did not ask to sign in, ignore this email."
        ),
        from_email=None,
        recipient_list=[email],
    )


@shared_task(name="accounts.login_code_prune")
def login_code_prune() -> int:
    deleted, _ = LoginCode.objects.filter(expires_at__lt=timezone.now() - timezone.timedelta(days=1)).delete()
    return deleted
