"""Intake: the public tokenized webhook (generic JSON and Alertmanager, grouped by fingerprint)
and inbound email through django-anymail's Mailjet inbound webhook."""

import base64
import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from apps.incidents.models import Activity, Incident, IntakeEndpoint
from apps.orgs.models import Role
from tests.conftest import key_client
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def intake_url(org, make_member):
    response = key_client(make_member(org, Role.ADMIN)).post(
        "/v1/intake-endpoints", {"name": "prometheus", "priority": "high"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"].startswith("in_") and body["url"].endswith(body["token"])
    assert not IntakeEndpoint.objects.filter(token_hash=body["token"]).exists()  # stored hashed
    return f"/v1/intake/{body['token']}"


def alertmanager(status, *alerts):
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status,
        "receiver": "schedkit",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": alert_status,
                "labels": {"alertname": "DiskFull", "instance": instance, "severity": "critical"},
                "annotations": {"summary": f"Disk full on {instance}", "description": "95% used"},
                "startsAt": "2026-11-21T05:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": fingerprint,
            }
            for alert_status, instance, fingerprint in alerts
        ],
    }


def test_generic_json_opens_and_groups_by_fingerprint(org, intake_url):
    client = APIClient()  # public: no credentials
    body = {"title": "Backup failed", "description": "nightly", "fingerprint": "backup-1"}
    first = client.post(intake_url, body, format="json")
    assert first.status_code == 201, first.content
    incident = Incident.objects.get(pk=first.json()["results"][0]["id"])
    assert (incident.org_id, incident.source, incident.priority) == (org.pk, "webhook", "high")
    again = client.post(intake_url, body, format="json")
    assert again.status_code == 200 and again.json()["results"][0] == {
        "id": str(incident.pk),
        "action": "appended",
        "fingerprint": "backup-1",
    }
    assert Incident.objects.count() == 1
    assert Activity.objects.filter(incident=incident, verb="repeated").count() == 1
    # No fingerprint: every post is its own incident.
    client.post(intake_url, {"title": "Ad hoc", "priority": "low"}, format="json")
    client.post(intake_url, {"title": "Ad hoc", "priority": "low"}, format="json")
    assert Incident.objects.filter(title="Ad hoc", priority="low").count() == 2


def test_alertmanager_firing_groups_then_resolved_resolves(org, intake_url):
    client = APIClient()
    response = client.post(intake_url, alertmanager("firing", ("firing", "db1", "fp-db1")), format="json")
    assert response.status_code == 201
    [result] = response.json()["results"]
    assert result["action"] == "created"
    incident = Incident.objects.get(pk=result["id"])
    assert incident.title == "DiskFull: Disk full on db1" and incident.priority == "urgent"
    assert incident.fingerprint == "fp-db1" and incident.source == "webhook"

    # Repeated notification + a second alert in the same group.
    response = client.post(
        intake_url, alertmanager("firing", ("firing", "db1", "fp-db1"), ("firing", "db2", "fp-db2")), format="json"
    )
    actions = {r["fingerprint"]: r["action"] for r in response.json()["results"]}
    assert actions == {"fp-db1": "appended", "fp-db2": "created"}
    assert Incident.objects.filter(fingerprint="fp-db1").count() == 1
    assert Activity.objects.filter(incident=incident, verb="repeated").count() == 1

    response = client.post(intake_url, alertmanager("resolved", ("resolved", "db1", "fp-db1")), format="json")
    assert response.status_code == 200 and response.json()["results"][0]["action"] == "resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert Incident.objects.get(fingerprint="fp-db2").status == "open"
    # Firing again after resolution opens a fresh incident (the old one stays resolved).
    client.post(intake_url, alertmanager("firing", ("firing", "db1", "fp-db1")), format="json")
    assert Incident.objects.filter(fingerprint="fp-db1").count() == 2
    # A resolve for an unknown fingerprint is ignored, not an error.
    response = client.post(intake_url, alertmanager("resolved", ("resolved", "x", "fp-none")), format="json")
    assert response.json()["results"][0]["action"] == "ignored"


@pytest.mark.parametrize(
    "payload",
    [
        {"alerts": []},
        {"alerts": [{"status": "weird"}]},
        {"title": ""},
        {"title": "x", "extra": 1},
        ["x"],
        {"title": "x", "required_skills": [0]},  # typed down to list items (found by the fuzzer)
    ],
)
def test_bad_intake_payloads_are_400(intake_url, payload):
    response = APIClient().post(intake_url, payload, format="json")
    assert response.status_code == 400, response.content
    assert not Incident.objects.exists()


def test_wrong_or_inactive_token_is_404(intake_url):
    client = APIClient()
    assert client.post("/v1/intake/in_nope", {"title": "x"}, format="json").status_code == 404
    IntakeEndpoint.objects.update(active=False)
    response = client.post(intake_url, {"title": "x"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def mailjet_inbound(*, recipient, sender="Casey <casey@customer.test>", subject, text):
    return {
        "Sender": sender.split("<")[-1].rstrip(">"),
        "Recipient": recipient,
        "Date": "20261121T054700",
        "From": sender,
        "Subject": subject,
        "Headers": {
            "Return-Path": [f"<{sender.split('<')[-1].rstrip('>')}>"],
            "From": sender,
            "To": recipient,
            "Subject": subject,
            "Date": "Sat, 21 Nov 2026 05:47:00 +0000",
            "Message-ID": "<abc123@customer.test>",
        },
        "Parts": [
            {"Headers": {"Content-Type": 'text/plain; charset="UTF-8"'}, "ContentRef": "Text-part"},
        ],
        "SpamAssassinScore": "0.1",
        "Text-part": text,
        "Html-part": f"<p>{text}</p>",
        "CustomID": "",
        "Payload": "",
    }


AUTH = "mailjet:s3cret"


def post_inbound(payload, auth=AUTH):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return client.generic(
        "POST", "/intake/email/mailjet/", json.dumps(payload), content_type="application/json", **headers
    )


@override_settings(ANYMAIL={"WEBHOOK_SECRET": AUTH})
def test_inbound_email_opens_a_ticket_then_a_reply_comments(org):
    response = post_inbound(
        mailjet_inbound(recipient=f"help+{org.slug}@in.schedkit.test", subject="Heating broken", text="Room 12 is cold")
    )
    assert response.status_code == 200, response.content
    ticket = Incident.objects.get(org=org)
    assert (ticket.title, ticket.source, ticket.reporter_email) == ("Heating broken", "email", "casey@customer.test")
    assert ticket.description.strip() == "Room 12 is cold"
    assert ticket.activity.get().actor_label == "email:casey@customer.test"

    # A reply, by token in the recipient and by token in the subject.
    post_inbound(
        mailjet_inbound(
            recipient=f"help+r-{ticket.reply_token}@in.schedkit.test", subject="Re: Heating", text="Still cold"
        )
    )
    post_inbound(
        mailjet_inbound(
            recipient="help@in.schedkit.test", subject=f"Re: Heating [ref:{ticket.reply_token}]", text="Now warm"
        )
    )
    assert Incident.objects.count() == 1
    comments = list(ticket.activity.filter(verb="commented").order_by("id").values_list("new", flat=True))
    assert comments == ["Still cold", "Now warm"]


@override_settings(ANYMAIL={"WEBHOOK_SECRET": AUTH})
def test_inbound_email_without_auth_or_for_no_org_opens_nothing(org):
    payload = mailjet_inbound(recipient=f"help+{org.slug}@in.schedkit.test", subject="x", text="y")
    assert post_inbound(payload, auth="mailjet:wrong").status_code == 400
    assert post_inbound(payload, auth=None).status_code == 400
    assert post_inbound(mailjet_inbound(recipient="help+no-such-org@in.test", subject="x", text="y")).status_code == 200
    assert not Incident.objects.exists()


def test_alert_service_seam_for_signals(org):
    from apps.incidents.services import incident_from_alert

    incident = incident_from_alert(org=org, title="SOS", lat=48.1, lng=11.5, signal_id="0190" + "0" * 28)
    assert (incident.source, incident.priority, incident.lat) == ("alert", "urgent", 48.1)
    assert str(incident.signal_id).replace("-", "") == "0190" + "0" * 28
    assert make_incident(org).signal_id is None
