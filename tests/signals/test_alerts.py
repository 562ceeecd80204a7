"""Alerts: web push (real encrypted pywebpush requests to a local fake push service) and
ntfy (a local fake ntfy server). The alert API answers 201 whatever delivery does."""

import base64
import json

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command

from apps.events.models import Event
from apps.orgs.models import Role
from apps.signals.management.commands.generate_vapid_keys import generate_vapid_keys
from apps.signals.models import PushSubscription
from tests.conftest import key_client
from tests.servers import free_port
from tests.signals.fakes import fake_http_service

pytestmark = pytest.mark.django_db(transaction=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """What a browser holds for one push subscription: an ECDH key pair and an auth secret."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = b"0123456789abcdef"
        self.p256dh = b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def subscription(self, endpoint: str) -> dict:
        return {"endpoint": endpoint, "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)}}

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm")
        return json.loads(plain)


@pytest.fixture
def vapid(settings):
    public, private = generate_vapid_keys()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public, private
    settings.VAPID_SUBJECT = "mailto:ops@example.test"
    return public


def subscribe(member, endpoint: str) -> Browser:
    browser = Browser()
    response = key_client(member).post("/v1/push-subscriptions", browser.subscription(endpoint), format="json")
    assert response.status_code == 201, response.content
    return browser


def test_alert_is_pushed_encrypted_to_other_members_browsers(org, make_member, vapid):
    sender, responder = make_member(org, Role.MEMBER), make_member(org, Role.MEMBER)
    with fake_http_service(status=201) as push_service:
        browser = subscribe(responder, f"{push_service.base_url}/push/responder")
        subscribe(sender, f"{push_service.base_url}/push/sender")  # the sender is not pushed to
        response = key_client(sender).post(
            "/v1/signals",
            {"type": "alert", "title": "Shots fired", "text": "Gate 4", "lat": 1, "lng": 2},
            format="json",
        )
        assert response.status_code == 201, response.content
    assert [r.path for r in push_service.requests] == ["/push/responder"]
    request = push_service.requests[0]
    assert request.headers["content-encoding"] == "aes128gcm"
    assert request.headers["authorization"].startswith("vapid t=") and f"k={vapid}" in request.headers["authorization"]
    assert request.headers["urgency"] == "high" and int(request.headers["ttl"]) > 0
    payload = browser.decrypt(request.body)
    assert payload["title"] == "Shots fired" and payload["body"] == "Gate 4" and payload["org"] == org.slug
    assert payload["id"] == str(Event.objects.get(type="signal.alert").pk)
    assert PushSubscription.objects.get(endpoint__endswith="/responder").last_success_at is not None


def test_push_service_410_deletes_the_subscription(org, make_member, vapid):
    sender, responder = make_member(org), make_member(org)
    with fake_http_service(status=410) as push_service:
        subscribe(responder, f"{push_service.base_url}/push/gone")
        response = key_client(sender).post("/v1/signals", {"type": "alert", "title": "Fire"}, format="json")
    assert response.status_code == 201
    assert len(push_service.requests) == 1
    assert not PushSubscription.objects.exists()


def test_alert_is_201_with_the_push_service_down_and_the_subscription_kept(org, make_member, vapid):
    sender, responder = make_member(org), make_member(org)
    subscribe(responder, f"http://127.0.0.1:{free_port()}/push/down")  # nothing listens there
    response = key_client(sender).post("/v1/signals", {"type": "alert", "title": "Flood"}, format="json")
    assert response.status_code == 201, response.content
    subscription = PushSubscription.objects.get()
    assert subscription.failures >= 1 and subscription.last_success_at is None
    assert Event.objects.filter(type="signal.alert").count() == 1


def test_alert_goes_to_the_org_ntfy_topic(org, make_member, settings):
    org.settings = {"ntfy_topic": "alpha-alerts"}
    org.save()
    with fake_http_service(status=200) as ntfy:
        settings.NTFY_URL = ntfy.base_url
        response = key_client(make_member(org)).post(
            "/v1/signals", {"type": "alert", "title": "Gas leak", "text": "Building C"}, format="json"
        )
        assert response.status_code == 201
    assert len(ntfy.requests) == 1
    request = ntfy.requests[0]
    assert request.path == "/alpha-alerts" and request.body == b"Building C"
    assert request.headers["title"] == "Gas leak" and request.headers["priority"] == "urgent"


def test_alert_is_201_with_ntfy_down_and_no_ntfy_without_a_topic(org, make_member, settings):
    settings.NTFY_URL = f"http://127.0.0.1:{free_port()}"
    client = key_client(make_member(org))
    assert client.post("/v1/signals", {"type": "alert", "title": "No topic"}, format="json").status_code == 201
    org.settings = {"ntfy_topic": "alpha"}
    org.save()
    assert client.post("/v1/signals", {"type": "alert", "title": "Down"}, format="json").status_code == 201
    assert Event.objects.filter(type="signal.alert").count() == 2


def test_generate_vapid_keys_command(capsys):
    call_command("generate_vapid_keys")
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    assert set(lines) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    assert len(base64.urlsafe_b64decode(lines["VAPID_PUBLIC_KEY"] + "==")) == 65  # uncompressed P-256 point


def test_an_alert_opens_an_urgent_incident_and_is_pushed_once(org, make_member, settings):
    from apps.incidents.models import Incident

    org.settings = {"ntfy_topic": "ops"}
    org.save()
    with fake_http_service(status=200) as ntfy:
        settings.NTFY_URL = ntfy.base_url
        response = key_client(make_member(org)).post(
            "/v1/signals", {"type": "alert", "title": "Man down", "lat": 52.5, "lng": 13.4}, format="json"
        )
        assert response.status_code == 201
    incident = Incident.objects.get(org=org)
    assert (incident.source, incident.priority, str(incident.signal_id)) == ("alert", "urgent", response.json()["id"])
    assert [r.headers["title"] for r in ntfy.requests] == ["Man down"]  # the alert, not a second time
    assert Event.objects.filter(type="incident.created").count() == 1


def test_high_and_urgent_incidents_go_to_ntfy_and_a_normal_one_does_not(org, make_member, settings):
    org.settings = {"ntfy_topic": "ops"}
    org.save()
    client = key_client(make_member(org, Role.SCHEDULER))
    with fake_http_service(status=200) as ntfy:
        settings.NTFY_URL = ntfy.base_url
        for priority in ("low", "normal", "high", "urgent"):
            response = client.post("/v1/incidents", {"title": f"{priority} one", "priority": priority}, format="json")
            assert response.status_code == 201, response.content
        assert [r.headers["title"] for r in ntfy.requests] == ["High incident: high one", "Urgent incident: urgent one"]
        org.settings = {"ntfy_topic": "ops", "push_incident_priorities": ["urgent"]}  # configurable per org
        org.save()
        ntfy.requests.clear()
        for priority in ("high", "urgent"):
            client.post("/v1/incidents", {"title": f"{priority} two", "priority": priority}, format="json")
        assert [r.headers["title"] for r in ntfy.requests] == ["Urgent incident: urgent two"]


def test_an_sla_breach_is_pushed_like_an_alert(org, make_member, settings, vapid):
    from datetime import timedelta

    from django.utils import timezone

    from apps.incidents.models import Incident
    from apps.incidents.tasks import sla_scan

    org.settings = {"ntfy_topic": "ops"}
    org.save()
    responder = make_member(org)
    with fake_http_service(status=201) as push_service, fake_http_service(status=200) as ntfy:
        settings.NTFY_URL = ntfy.base_url
        subscribe(responder, f"{push_service.base_url}/push/sub")
        client = key_client(make_member(org, Role.SCHEDULER))
        response = client.post("/v1/incidents", {"title": "Slow one", "priority": "normal"}, format="json")
        assert response.status_code == 201 and ntfy.requests == [] and push_service.requests == []
        Incident.objects.filter(pk=response.json()["id"]).update(sla_due_at=timezone.now() - timedelta(minutes=1))
        assert sla_scan() == 1
        assert [r.headers["title"] for r in ntfy.requests] == ["SLA breached: Slow one"]
        assert len(push_service.requests) == 1  # the encrypted web push to the responder's browser


def test_an_alerts_text_becomes_the_incidents_title_and_description(org, make_member):
    from apps.incidents.models import Incident

    api = key_client(make_member(org))
    response = api.post("/v1/signals", {"type": "alert", "text": "Man down near Alexanderplatz"}, format="json")
    assert response.status_code == 201
    incident = Incident.objects.get(org=org)
    assert (incident.title, incident.description) == ("Man down near Alexanderplatz", "Man down near Alexanderplatz")

    long_text = "Smoke " + "on the third level of the car park " * 6 + "\nsecond line with details"
    api.post("/v1/signals", {"type": "alert", "text": long_text}, format="json")
    incident = Incident.objects.filter(org=org).order_by("-created_at").first()
    assert incident.description == long_text
    assert incident.title.endswith("…") and len(incident.title) <= 121 and "second line" not in incident.title
    assert " l…" not in incident.title  # cut at a word
