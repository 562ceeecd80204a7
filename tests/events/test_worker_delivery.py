"""Delivery with a real Celery worker process (prefork pool, beat running the relay and the
webhook sweep every second; see tests/workers.py for the shortened timings):

- the receiver is down for DELIVERY_OUTAGE_SECONDS (15 s here, standing in for the minute of
  the issue) → afterwards every webhook is delivered exactly once (counted by webhook-id);
- the worker is SIGKILLed in the middle of a delivery → a new worker delivers it, and the
  receiver sees at most one duplicate per killed attempt;
- a poison event (its handlers always raise) → dead after the retry budget, while the
  broker's queue stays bounded."""

import os
import time
from collections import Counter

import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.events.models import Event, WebhookDelivery, WebhookEndpoint
from apps.events.publish import publish_on_commit
from apps.events.webhooks import new_secret
from tests.fakes import FakeServer
from tests.workers import celery_worker_process

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
OUTAGE_SECONDS = float(os.environ.get("DELIVERY_OUTAGE_SECONDS", "15"))


def wait_for(predicate, timeout=60.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def endpoint(org, url, prefix=""):
    return WebhookEndpoint.objects.create(org=org, url=url, secret=new_secret(), event_prefix=prefix)


def delivered_count() -> int:
    connection.close()  # a fresh snapshot each poll
    return WebhookDelivery.objects.filter(status="delivered").count()


def test_receiver_down_then_every_webhook_delivered_once(org):
    receiver = FakeServer().start()
    port = receiver.port
    receiver.stop()  # down: connections are refused
    endpoint(org, receiver.url)
    endpoint(org, receiver.url.replace("/hook", "/second"), prefix="test.")
    with celery_worker_process() as start_worker:
        start_worker()
        for n in range(20):
            publish_on_commit(org=org, type="test.outage", data={"n": n})
        assert wait_for(lambda: WebhookDelivery.objects.filter(attempts__gte=1).count() == 40, timeout=30)
        time.sleep(OUTAGE_SECONDS)
        assert WebhookDelivery.objects.filter(status="pending").count() == 40  # retrying, none given up
        receiver = FakeServer().start(port=port)  # back up
        try:
            assert wait_for(lambda: delivered_count() == 40, timeout=60), list(
                WebhookDelivery.objects.values_list("status", "attempts")
            )
        finally:
            receiver.stop()
    counts = Counter(receiver.webhook_ids())
    assert len(counts) == 40 and set(counts.values()) == {1}  # every webhook once, none twice


def test_worker_killed_mid_delivery_is_delivered_with_at_most_one_duplicate(org):
    killed = []
    receiver = FakeServer()

    def first_request_kills_the_worker(received):
        if not killed:
            killed.append(received.headers["webhook-id"])
            workers[0].kill()  # the sender dies while its request is in flight

    receiver.on_request = first_request_kills_the_worker
    receiver.start()
    endpoint(org, receiver.url)
    try:
        with celery_worker_process() as start_worker:
            workers = [start_worker()]
            for n in range(5):
                publish_on_commit(org=org, type="test.kill", data={"n": n})
            assert wait_for(lambda: bool(killed), timeout=30)
            start_worker()  # a new worker; the lost try's lease runs out and the sweep retries it
            assert wait_for(lambda: delivered_count() == 5, timeout=60)
    finally:
        receiver.stop()
    counts = Counter(receiver.webhook_ids())
    assert len(counts) == 5
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= len(killed)  # at most one duplicate per killed attempt
    assert all(n == 1 for wid, n in counts.items() if wid not in killed)


def test_poison_event_is_dead_after_the_budget_and_the_queue_stays_bounded(org):
    # Malformed data breaks the booking.* webhook target lookup (event_type_id is no UUID):
    # every dispatch raises in the worker.
    queue = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    lengths = []
    with celery_worker_process() as start_worker:
        start_worker()
        poison = publish_on_commit(org=org, type="booking.created", data={"event_type_id": "not-a-uuid"})
        healthy = publish_on_commit(org=org, type="test.healthy", data={})

        def dead():
            lengths.append(queue.llen("celery"))
            connection.close()
            return Event.objects.get(pk=poison.pk).dead_at is not None

        assert wait_for(dead, timeout=60, every=0.1)
        time.sleep(3)  # three more relay runs: nothing queued for a dead event
        lengths.append(queue.llen("celery"))
    poison.refresh_from_db()
    assert poison.attempts == 4  # the first try and EVENTS_DISPATCH_BACKOFF="1,1,1" retries
    assert "ValidationError" in poison.last_error
    assert Event.objects.get(pk=healthy.pk).dispatched_at is not None  # others flow past it
    assert max(lengths) <= 3, lengths  # never more than a couple of queued tasks
