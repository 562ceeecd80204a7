"""Every model is in the admin, and its list (with search and every filter), add and change
pages render for staff."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests import tenancy
from tests.factories import OrgFactory

OUR_APPS = tuple(c.label for c in apps.get_app_configs() if c.name.startswith(("apps.", "schedkit.")))
pytestmark = pytest.mark.django_db


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def test_every_model_is_registered():
    missing = [m.__name__ for m in our_models() if m not in admin.site._registry]
    assert not missing


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_admin_pages_render(model):
    staff = User.objects.create_superuser("staff@example.test")
    client = Client()
    client.force_login(staff)
    registration = tenancy.REGISTRY.get(model)
    obj = registration.factory(OrgFactory()) if registration else model.objects.first()
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    model_admin = admin.site._registry[model]
    assert model_admin.list_display != ("__str__",), f"{model.__name__} admin needs a useful list_display"
    assert client.get(changelist).status_code == 200
    if model_admin.search_fields:
        assert client.get(changelist, {"q": "x"}).status_code == 200
    if model_admin.has_add_permission(type("R", (), {"user": staff})()):
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert client.get(change).status_code == 200
