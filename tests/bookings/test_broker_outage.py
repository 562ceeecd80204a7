"""Nothing is lost when the broker is down at booking time: the booking succeeds, its events
wait in the outbox, and once the broker is back the relay (what beat runs every 30 s) hands
them to a real worker, which delivers the signed webhooks and the attendee's email (its
manage links are derived from the booking, so the email can wait with the event)."""

import json
import time
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from apps.events.models import Event, WebhookDelivery, WebhookEndpoint
from apps.events.tasks import outbox_relay
from apps.events.webhooks import new_secret
from schedkit.celery import app as celery_app
from tests.bookings.factories import make_event_type
from tests.bookings.test_webhooks import Receiver
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def point_broker_at(url: str) -> None:
    """Publishers reconnect to `url`: the app's connection pool and the producer pool built
    on it are dropped (the worker's consumer keeps its own connection)."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_booking_during_a_broker_outage_is_delivered_after_it(org, receiver, celery_worker_thread):
    secret = new_secret()
    WebhookEndpoint.objects.create(org=org, url=receiver.url, secret=secret)
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="offline")
    make_rule(location, person, start_time=clock(9), end_time=clock(12))
    make_event_type(org, person, slug="intro")
    start = datetime.combine((timezone.now() + timedelta(days=2)).date(), clock(9), tzinfo=ZoneInfo("UTC"))

    good_url = celery_app.conf.broker_url
    point_broker_at("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        response = APIClient().post(
            "/v1/book/offline/intro",
            {"start_time": start.isoformat(), "attendee_name": "Ann", "attendee_email": "ann@example.test"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="outage",
        )
    finally:
        point_broker_at(good_url)
    assert response.status_code == 201, response.content
    booking_id = response.json()["id"]
    assert mail.outbox == []  # the email waits with its event
    # The events wait in the outbox; nothing was delivered yet.
    events = Event.objects.filter(org=org, type__startswith="booking.", data__id=booking_id)
    assert sorted(events.values_list("type", flat=True)) == ["booking.confirmed", "booking.created"]
    assert all(e.dispatched_at is None for e in events)
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()

    events.update(lease_until=timezone.now() - timedelta(seconds=1))  # the enqueue's lease ran out
    assert outbox_relay() == 2
    assert wait_for(lambda: len(receiver.requests) == 2), receiver.requests
    delivered = {}
    for headers, body in receiver.requests:
        payload = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})  # raises if forged
        delivered[payload["type"]] = payload
        assert "ann@example.test" not in body
    assert set(delivered) == {"booking.created", "booking.confirmed"}
    assert delivered["booking.created"]["data"]["id"] == booking_id
    assert json.loads(receiver.requests[0][1])["org"] == org.slug
    assert wait_for(lambda: all(e.dispatched_at for e in Event.objects.filter(pk__in=[e.pk for e in events])))
    assert wait_for(lambda: WebhookDelivery.objects.filter(status="delivered").count() == 2)
    assert outbox_relay() == 0  # nothing left behind, nothing sent twice
    assert wait_for(lambda: len(mail.outbox) == 2)  # confirmation to the attendee, notice to the host
    to_attendee = next(m for m in mail.outbox if m.to == ["ann@example.test"])
    assert response.json()["cancel_url"] in to_attendee.body
