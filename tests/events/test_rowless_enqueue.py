"""Rowless work — emails carrying a one-time secret (a sign-in code, an invite link) or a notice
of the moment (an SLA breach) — goes through the one enqueue helper with `inline_on_failure`:
when the broker is down the email is still sent, inline, and the request still succeeds.

Real parts: eager mode is off, so the tasks are really published to the broker, which points at
a port where nothing listens (as tests/bookings/test_broker_outage.py does)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from apps.incidents import services as incident_services
from apps.incidents.models import Incident
from apps.orgs.models import Role
from schedkit.celery import app as celery_app
from tests.bookings.test_broker_outage import point_broker_at
from tests.conftest import key_client
from tests.incidents.factories import make_incident

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker_down():
    good_url, eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    point_broker_at("redis://127.0.0.1:1/0")  # nothing listens there
    yield
    point_broker_at(good_url)
    celery_app.conf.task_always_eager = eager


def test_sign_in_code_is_sent_inline_when_the_broker_is_down(broker_down, caplog):
    response = APIClient().post("/v1/auth/login", {"email": "ann@example.test"}, format="json")
    assert response.status_code == 202, response.content
    # The broker really refused it (this is not eager mode), and the log keeps the code out.
    refused = [r.getMessage() for r in caplog.records if "running it inline" in r.getMessage()]
    assert len(refused) == 1 and "accounts.send_login_email" in refused[0]
    assert "ann@example.test" not in refused[0]
    assert [m.to for m in mail.outbox] == [["ann@example.test"]]
    assert re.search(r"\b\d{6}\b", mail.outbox[0].body)


def test_invite_link_is_sent_inline_when_the_broker_is_down(owner, broker_down):
    response = key_client(owner).post(
        f"/v1/orgs/{owner.org.slug}/invites", {"email": "new@example.test", "role": "member"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert [m.to for m in mail.outbox] == [["new@example.test"]]
    assert "/invites/" in mail.outbox[0].body


def test_breach_email_is_sent_inline_when_the_broker_is_down(owner, make_member, broker_down):
    admin = make_member(owner.org, Role.ADMIN)
    incident = make_incident(owner.org, title="Pump failure")
    Incident.objects.filter(pk=incident.pk).update(sla_due_at=timezone.now() - timedelta(minutes=1))
    mail.outbox.clear()
    assert incident_services.sla_scan() == [incident.pk]
    assert sorted(to for message in mail.outbox for to in message.to) == sorted([owner.user.email, admin.user.email])
    assert all("SLA breached: Pump failure" in message.subject for message in mail.outbox)
