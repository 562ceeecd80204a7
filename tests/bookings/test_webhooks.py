"""Signed webhooks (Standard Webhooks) to a local fake receiver: delivery, retries with
backoff, the attempt log, manual redelivery."""

import json
import threading
from datetime import time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from apps.events.models import WebhookDelivery
from apps.events.tasks import webhook_sweep
from apps.orgs.models import Role
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    def __init__(self):
        self.requests, self.status = [], 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body.decode()))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def _book(org):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="hooked")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    return person


def test_signed_delivery_retry_and_redelivery(org, make_member, receiver):
    manager = key_client(make_member(org, Role.MANAGER))
    created = manager.post("/admin/v1/webhooks", {"url": receiver.url}, format="json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    person = _book(org)
    make_event_type(org, person, slug="intro")
    day = (timezone.now() + timedelta(days=2)).date()
    response = APIClient().post(
        "/v1/book/hooked/intro",
        {"start_time": f"{day.isoformat()}T09:00:00Z", "attendee_name": "Ann", "attendee_email": "ann@example.test"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w1",
    )
    assert response.status_code == 201, response.content
    types = sorted(json.loads(body)["type"] for _, body in receiver.requests)
    assert types == ["booking.confirmed", "booking.created"]
    for headers, body in receiver.requests:
        lowered = {k.lower(): v for k, v in headers.items()}
        payload = Webhook(secret).verify(body, lowered)  # raises on a bad signature
        assert payload["org"] == org.slug and "ann@example.test" not in body
    assert all(d.status == "delivered" and d.attempts == 1 for d in WebhookDelivery.objects.all())

    # A failing receiver: logged, scheduled with backoff, retried by the sweep, then fixed.
    receiver.status = 500
    token = response.json()["cancel_url"].split("/")[-2]
    APIClient().post(f"/v1/book/manage/{token}/cancel", {}, format="json")
    failing = WebhookDelivery.objects.get(event__type="booking.cancelled")
    assert failing.status == "pending" and failing.attempts == 1 and failing.next_attempt_at > timezone.now()
    WebhookDelivery.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
    assert webhook_sweep() == 1
    failing.refresh_from_db()
    assert failing.attempts == 2
    receiver.status = 204
    listed = manager.get(f"/admin/v1/webhook-deliveries/{failing.pk}").json()
    assert [a["status_code"] for a in listed["attempt_log"]] == [500, 500]
    redelivered = manager.post(f"/admin/v1/webhook-deliveries/{failing.pk}/redeliver")
    assert redelivered.status_code == 202
    failing.refresh_from_db()
    assert failing.status == "delivered" and failing.attempts == 3


def test_event_type_webhook_url_gets_signed_deliveries(org, receiver):
    person = _book(org)
    make_event_type(org, person, slug="intro", webhook_url=receiver.url)
    day = (timezone.now() + timedelta(days=2)).date()
    response = APIClient().post(
        "/v1/book/hooked/intro",
        {"start_time": f"{day.isoformat()}T10:00:00Z", "attendee_name": "Ann", "attendee_email": "ann@example.test"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w2",
    )
    assert response.status_code == 201
    assert len(receiver.requests) == 2
    assert all(
        h.get("webhook-signature", h.get("Webhook-Signature", "")).startswith("v1,") for h, _ in receiver.requests
    )
