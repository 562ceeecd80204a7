"""The outbox's retries end: a dispatch is claimed with a lease (the relay never queues a
second copy of queued work), a failing one backs off and then is dead, shown in the admin
and counted in /metrics, and a poison event never grows the queue."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from apps.events import delivery
from apps.events.models import Event
from apps.events.publish import publish_on_commit
from apps.events.tasks import outbox_relay

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def poison():
    """A delivery handler that always raises, for one event type only."""
    calls = []

    def handler(event):
        calls.append(event.pk)
        raise RuntimeError("receiver of test.poison is broken")

    delivery._handlers.append(("test.poison", handler))
    yield calls
    delivery._handlers.remove(("test.poison", handler))


def expire_leases():
    Event.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


def test_queued_event_is_never_relayed_twice(org):
    event = Event.objects.create(org=org, type="test.queued", lease_until=timezone.now() + timedelta(minutes=2))
    assert outbox_relay() == 0  # its enqueue holds the lease
    expire_leases()
    assert outbox_relay() == 1  # the lease ran out: relayed (and, eagerly, dispatched) once
    assert outbox_relay() == 0
    event.refresh_from_db()
    assert event.state == "dispatched" and event.dispatched_at is not None


def test_poison_event_backs_off_then_is_dead(org, poison, settings):
    settings.EVENTS_DISPATCH_BACKOFF = [60, 60]
    event = publish_on_commit(org=org, type="test.poison", data={})
    event.refresh_from_db()
    assert event.state == "retrying" and event.attempts == 1 and "broken" in event.last_error
    assert event.lease_until > timezone.now()
    for _ in range(5):
        assert outbox_relay() == 0  # backing off: nothing is queued while the lease holds
    expire_leases()
    assert outbox_relay() == 1
    expire_leases()
    assert outbox_relay() == 1
    event.refresh_from_db()
    assert event.state == "dead" and event.attempts == 3 and event.dead_at is not None
    expire_leases()
    assert outbox_relay() == 0  # dead: never queued again
    assert len(poison) == 3  # one dispatch per attempt, no more


def test_dead_events_are_counted_in_metrics_and_shown_in_the_admin(org, poison, settings):
    settings.EVENTS_DISPATCH_BACKOFF = []
    dead = publish_on_commit(org=org, type="test.poison", data={})
    Event.objects.create(org=org, type="test.waiting", lease_until=timezone.now() + timedelta(minutes=2))
    text = Client().get("/metrics").content.decode()
    assert 'outbox_events{state="dead"} 1.0' in text
    assert 'outbox_events{state="pending"} 1.0' in text
    assert 'outbox_events{state="retrying"} 0.0' in text

    staff = get_user_model().objects.create_superuser("staff@example.test")
    admin = Client()
    admin.force_login(staff)
    page = admin.get("/admin/events/event/", {"state": "dead"})
    assert page.status_code == 200 and str(dead.pk) in page.content.decode()
    revived = admin.post("/admin/events/event/", {"action": "revive", "_selected_action": [str(dead.pk)]}, follow=True)
    assert revived.status_code == 200
    dead.refresh_from_db()
    assert dead.state == "pending" and dead.dead_at is None and dead.attempts == 0
