from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User, normalize_email
from apps.accounts.services import api_key_create
from apps.orgs.models import Membership
from apps.orgs.tenancy import Actor


class Command(BaseCommand):
    help = "Create an API key for a member of an org and print it (the only time it is shown)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--org", required=True, help="org slug")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, email, org, name, **options):
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        membership = Membership.objects.filter(user=user, org__slug=org, active=True).select_related("org").first()
        if membership is None:
            raise CommandError(f"{email} is not an active member of org {org!r}.")
        actor = Actor(user=user, org=membership.org, role=membership.role, membership_id=membership.pk)
        key, raw = api_key_create(actor=actor, name=name)
        self.stdout.write(raw)
        self.stderr.write(f"API key {key.prefix}… for {user.email} in {org} ({membership.role}); store it now.")
