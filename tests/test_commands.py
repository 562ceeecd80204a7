import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey, User
from apps.orgs.models import Membership, Org, Role, Team

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_demo_creates_one_user_per_role_and_prints_the_key_once():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    key = re.search(r"(sk_live_\S+)", out.getvalue()).group(1)
    org = Org.objects.get(slug="demo")
    assert sorted(Membership.objects.filter(org=org).values_list("role", flat=True)) == sorted(Role.values)
    assert Team.objects.filter(org=org, slug="night-shift").exists()
    assert User.objects.get(email="owner@demo.schedkit.local").is_staff
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/v1/orgs/demo/members").json()["results"]
    again = StringIO()
    call_command("seed_demo", stdout=again)  # idempotent, and the secret is not shown again
    assert "sk_live_" not in again.getvalue().replace("create_api_key", "")
    assert Membership.objects.filter(org=org).count() == 6 and ApiKey.objects.count() == 1


def test_create_api_key(org, owner):
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "--email", owner.user.email.upper(), "--org", org.slug, stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("sk_live_")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/v1/auth/me").json()["email"] == owner.user.email
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", "nobody@example.test", "--org", org.slug)
    with pytest.raises(CommandError):
        call_command("create_api_key", "--email", owner.user.email, "--org", "not-mine")
