"""The calendar page: server-rendered shell, vendored assets, role-aware editing."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.orgs.models import Role

pytestmark = pytest.mark.django_db


def _client(membership):
    client = Client()
    client.force_login(membership.user)
    return client


def test_calendar_page_for_a_scheduler(org, make_member):
    scheduler = make_member(org, Role.SCHEDULER)
    response = _client(scheduler).get(f"/schedule/?org={org.slug}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-editable="true"' in html and f'data-org="{org.slug}"' in html
    assert "vendor/fullcalendar/index.global.min.js" in html and "schedule/calendar.js" in html
    assert "cdn" not in html.lower()
    assert finders.find("vendor/fullcalendar/index.global.min.js")


def test_members_see_a_read_only_calendar(org, make_member):
    member = make_member(org, Role.MEMBER)
    response = _client(member).get("/schedule/")
    assert response.status_code == 200
    assert 'data-editable="false"' in response.content.decode()


def test_anonymous_is_sent_to_login(org):
    response = Client().get("/schedule/")
    assert response.status_code == 302


def test_htmx_partial(org, make_member):
    scheduler = make_member(org, Role.SCHEDULER)
    response = _client(scheduler).get("/schedule/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="schedule-filters")
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and "filter-assignee" in response.content.decode()
