from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.demo.seed import DEMO_DOMAIN, DEMO_ORG, seed, tour
from apps.orgs.models import Role

REFUSED = (
    "seed_demo creates a staff demo owner and prints a live API key, so outside the embedded default it needs "
    "the explicit opt-in: SEED_DEMO=1 python manage.py seed_demo (compose: docker compose --profile demo up)."
)


class Command(BaseCommand):
    help = (
        "Create or complete the demo org: a user per role (owner@ is staff), locations, a dozen people, "
        "availability, recurring shifts, bookable event types, incidents, an intake endpoint, live beacons "
        "and an API key. Safe to run again. Outside the embedded default only with SEED_DEMO=1."
    )

    def handle(self, *args, **options):
        if not (settings.EMBEDDED or settings.SEED_DEMO):
            raise CommandError(REFUSED)
        result = seed(public_base_url=settings.PUBLIC_BASE_URL)
        self.stdout.write(self.style.SUCCESS(f"Demo org '{DEMO_ORG}' ready ({len(result.created)} things created)."))
        self.stdout.write(f"  Users (sign in by emailed code): {', '.join(f'{r}@{DEMO_DOMAIN}' for r in Role.values)}")
        self.stdout.write(f"  owner@{DEMO_DOMAIN} is also Django admin staff.")
        for what, url in tour(result.org, settings.PUBLIC_BASE_URL):
            self.stdout.write(f"  {what:<20} {url}")
        if result.intake_url:
            self.stdout.write(f"  Monitoring intake URL (shown once): {result.intake_url}")
        if result.api_key:
            self.stdout.write(self.style.WARNING(f"  Demo API key (shown once): {result.api_key}"))
        else:
            self.stdout.write(
                "  The demo API key was printed when it was created; make another with:\n"
                f"    .venv/bin/python manage.py create_api_key --email owner@{DEMO_DOMAIN} --org {DEMO_ORG}"
            )
