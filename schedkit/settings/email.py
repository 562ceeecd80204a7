"""Email through django-anymail: Mailjet in production when its keys are set, the console
(embedded default) otherwise. Tests use Django's locmem backend."""

from .env import env_str

MAILJET_API_KEY = env_str("MAILJET_API_KEY")
MAILJET_SECRET_KEY = env_str("MAILJET_SECRET_KEY")
ANYMAIL = {
    "MAILJET_API_KEY": MAILJET_API_KEY,
    "MAILJET_SECRET_KEY": MAILJET_SECRET_KEY,
    # "user:pass" that Mailjet's inbound webhook presents (https://user:pass@host/intake/email/mailjet/)
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET") or None,
}
if env_str("MAILJET_API_URL"):  # tests point it at a local fake of Mailjet's send API
    ANYMAIL["MAILJET_API_URL"] = env_str("MAILJET_API_URL")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "anymail.backends.mailjet.EmailBackend" if MAILJET_API_KEY else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SchedKit <no-reply@schedkit.local>")
