from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import ApiKey, User
from apps.accounts.services import api_key_create
from apps.orgs import services
from apps.orgs.models import Membership, Org, Role, Team
from apps.orgs.tenancy import Actor

DEMO_ORG = "demo"
DEMO_DOMAIN = "demo.schedkit.local"


class Command(BaseCommand):
    help = "Create the demo org (one user per role, a team, an API key). Safe to run again."

    def handle(self, *args, **options):
        with transaction.atomic():
            owner = User.objects.filter(email=f"owner@{DEMO_DOMAIN}").first()
            if owner is None:
                owner = User.objects.create_superuser(f"owner@{DEMO_DOMAIN}", username="owner", name="Olivia Owner")
            org = Org.objects.filter(slug=DEMO_ORG).first() or services.org_create(
                user=owner, slug=DEMO_ORG, name="Demo Response", timezone_name="Europe/Berlin"
            )
            actor = Actor(user=owner, org=org, role=Role.OWNER)
            for role in Role.values:
                if role == Role.OWNER:
                    continue
                user = User.objects.filter(email=f"{role}@{DEMO_DOMAIN}").first() or User.objects.create_user(
                    f"{role}@{DEMO_DOMAIN}", username=role, name=f"{role.title()} Demo"
                )
                Membership.objects.get_or_create(org=org, user=user, defaults={"role": role})
            team = Team.objects.filter(org=org, slug="night-shift").first() or services.team_create(
                actor=actor, slug="night-shift", name="Night Shift"
            )
            for role in (Role.SCHEDULER, Role.MEMBER):
                membership = Membership.objects.get(org=org, user__email=f"{role}@{DEMO_DOMAIN}")
                if not team.team_members.filter(membership=membership).exists():
                    services.team_member_add(actor=actor, team=team, membership=membership)
            key_exists = ApiKey.objects.filter(org=org, user=owner, name="demo", revoked_at__isnull=True).exists()
            raw = None if key_exists else api_key_create(actor=actor, name="demo")[1]

        self.stdout.write(self.style.SUCCESS(f"Demo org '{DEMO_ORG}' ready."))
        self.stdout.write(f"  Users (sign in by emailed code): {', '.join(f'{r}@{DEMO_DOMAIN}' for r in Role.values)}")
        self.stdout.write(f"  owner@{DEMO_DOMAIN} is also Django admin staff.")
        if raw:
            self.stdout.write(self.style.WARNING(f"  Demo API key (shown once): {raw}"))
        else:
            self.stdout.write(
                "  Demo API key was printed when it was created; make another with:\n"
                f"    python manage.py create_api_key --email owner@{DEMO_DOMAIN} --org {DEMO_ORG}"
            )
