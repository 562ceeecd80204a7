"""Styled 404/500 for pages (problem+json stays for the API), the not-staff admin page, the
favicon and the admin's plurals."""

import pytest
from django.test import Client

from apps.events.models import WebhookDelivery
from apps.orgs.models import Role

pytestmark = pytest.mark.django_db


def test_html_404_is_a_styled_page_and_the_api_keeps_problem_json():
    response = Client().get("/no/such/page")
    assert response.status_code == 404 and "Page not found" in response.content.decode()
    assert "text/html" in response["Content-Type"]
    api = Client().get("/v1/no-such-endpoint")
    assert api.status_code == 404 and api["Content-Type"].startswith("application/problem+json")


def test_a_signed_in_non_staff_user_is_told_why_the_admin_is_closed(org, make_member):
    client = Client()
    client.force_login(make_member(org, Role.ADMIN).user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert "signed in, but not as staff" in response.content.decode()


def test_favicon_and_plural():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert WebhookDelivery._meta.verbose_name_plural == "webhook deliveries"
