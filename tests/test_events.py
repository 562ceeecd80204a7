"""The transactional outbox, after-commit broadcast, and the Celery hand-off."""

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from celery.contrib.testing.worker import start_worker
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from apps.events.models import Event
from apps.events.publish import org_group, publish_on_commit
from schedkit.celery import app as celery_app
from tests.conftest import key_client

pytestmark = pytest.mark.django_db(transaction=True)


class Listener:
    """A real channel-layer consumer endpoint subscribed to one org's group."""

    def __init__(self, org):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(org_group(org.pk), self.channel)

    def receive(self, timeout=2.0):
        async def _receive():
            try:
                return await asyncio.wait_for(self.layer.receive(self.channel), timeout)
            except TimeoutError:
                return None

        return async_to_sync(_receive)()


def test_event_is_written_with_the_change_and_broadcast_after_commit(org):
    listener = Listener(org)
    with transaction.atomic():
        event = publish_on_commit(org=org, type="test.happened", data={"n": 1, "at": timezone.now()})
        assert Event.objects.filter(pk=event.pk).exists()  # same transaction
    message = listener.receive()
    assert message["type"] == "event.message"
    envelope = message["event"]
    assert set(envelope) == {"id", "type", "org", "ts", "data"}
    assert envelope["id"] == str(event.pk) and envelope["org"] == org.slug and envelope["type"] == "test.happened"
    assert isinstance(envelope["data"]["at"], str)


def test_rolled_back_change_publishes_nothing(org):
    listener = Listener(org)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_on_commit(org=org, type="test.doomed", data={})
        raise RuntimeError("the change fails")
    assert not Event.objects.filter(type="test.doomed").exists()
    assert listener.receive(timeout=0.5) is None


def test_other_orgs_do_not_hear_it(org, make_org):
    other = make_org()
    listener = Listener(other)
    publish_on_commit(org=org, type="test.private", data={})
    assert listener.receive(timeout=0.5) is None


def test_api_changes_emit_events(owner):
    listener = Listener(owner.org)
    client = key_client(owner)
    client.post(f"/v1/orgs/{owner.org.slug}/teams", {"slug": "alpha", "name": "Alpha"}, format="json")
    assert listener.receive()["event"]["type"] == "team.created"
    listed = client.get("/v1/events?type=team.created").json()["results"]
    assert [e["data"]["slug"] for e in listed] == ["alpha"]


@pytest.fixture
def celery_worker_thread():
    """A real Celery worker (solo pool, in a thread) consuming the Redis broker."""
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.services
def test_worker_dispatches_committed_events(org, celery_worker_thread):
    event = publish_on_commit(org=org, type="test.delivered", data={})
    assert wait_for(lambda: Event.objects.get(pk=event.pk).dispatched_at is not None)


@pytest.mark.services
def test_broker_outage_delays_but_never_loses_an_event(org, celery_worker_thread):
    good_url = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    celery_app._pool = None
    try:
        event = publish_on_commit(org=org, type="test.during_outage", data={})  # enqueue fails, logged
    finally:
        celery_app.conf.broker_url = good_url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert Event.objects.get(pk=event.pk).dispatched_at is None
    from apps.events.tasks import outbox_relay

    assert outbox_relay() == 0  # still leased to the refused enqueue
    Event.objects.filter(pk=event.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # the lease ran out
    relayed = []  # what beat runs every 30 s
    assert wait_for(lambda: relayed.append(outbox_relay()) or Event.objects.get(pk=event.pk).dispatched_at)
    assert sum(relayed) <= 1  # one copy at most (a publish retry of kombu may have got through)


@pytest.mark.services
def test_request_id_travels_into_celery_tasks(celery_worker_thread):
    from celery import signals
    from django.core import mail
    from rest_framework.test import APIClient

    from schedkit.ops.context import request_id_var

    seen = []

    def record(task=None, **kwargs):  # runs in the worker after SchedKit's own prerun hook
        seen.append((task.name, request_id_var.get()))

    signals.task_prerun.connect(record, weak=False)
    try:
        response = APIClient().post(
            "/v1/auth/login", {"email": "rid@example.test"}, format="json", HTTP_X_REQUEST_ID="rid-4242"
        )
        assert response.status_code == 202
        assert wait_for(lambda: any(name == "accounts.send_login_email" for name, _ in seen))
    finally:
        signals.task_prerun.disconnect(record)
    assert [rid for name, rid in seen if name == "accounts.send_login_email"] == ["rid-4242"]
    assert wait_for(lambda: bool(mail.outbox)) and mail.outbox[-1].to == ["rid@example.test"]
