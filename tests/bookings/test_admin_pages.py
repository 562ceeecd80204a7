"""The Django admin for the scheduling and bookings models: list (search, filters), add and
change pages render (tests/test_admin.py covers the foundation apps the same way)."""

import warnings

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests import tenancy
from tests.factories import OrgFactory

pytestmark = pytest.mark.django_db
MODELS = [m for m in apps.get_models() if m._meta.app_label in ("scheduling", "bookings")]


def test_every_model_is_registered():
    assert not [m.__name__ for m in MODELS if m not in admin.site._registry]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_pages_render(model):
    staff = User.objects.create_superuser("staff@example.test")
    client = Client()
    client.force_login(staff)
    registration = tenancy.REGISTRY.get(model)
    obj = registration.factory(OrgFactory()) if registration else None
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "x"}).status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert client.get(change).status_code == 200


@pytest.mark.parametrize("model_name", ["bookings_eventtype", "events_webhookendpoint", "events_webhookdelivery"])
def test_url_fields_render_without_the_django60_scheme_warning(model_name):
    from django.utils.deprecation import RemovedInDjango60Warning

    staff = User.objects.create_superuser(f"{model_name}@example.test")
    client = Client()
    client.force_login(staff)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RemovedInDjango60Warning)
        response = client.get(reverse(f"admin:{model_name}_add"))
    assert response.status_code == 200
