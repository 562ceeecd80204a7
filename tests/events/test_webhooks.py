"""Webhooks for every domain event: subscription by event-type prefix, a secret shown once
and rotatable (verified with the standardwebhooks library), retries with backoff then
failed, a deleted endpoint's retries cancelled, no row lock held across the HTTP call."""

from datetime import time, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from apps.events.models import WebhookDelivery
from apps.events.publish import publish_on_commit
from apps.events.tasks import webhook_sweep
from apps.orgs.models import Role
from tests.conftest import key_client
from tests.fakes import FakeServer
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    fake = FakeServer().start()
    yield fake
    fake.stop()


@pytest.fixture
def manager(org, make_member):
    return key_client(make_member(org, Role.MANAGER))


def verify(secret, received) -> dict:
    return Webhook(secret).verify(received.body.decode(), received.headers)  # raises when forged


def due_now():
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_endpoints_get_the_events_their_prefixes_name(org, manager):
    fakes = {prefix: FakeServer().start() for prefix in ("booking.cancelled", "incident.,signal.alert", "")}
    try:
        secrets = {}
        for prefix, fake in fakes.items():
            created = manager.post("/admin/v1/webhooks", {"url": fake.url, "event_prefix": prefix}, format="json")
            assert created.status_code == 201, created.content
            secrets[prefix] = created.json()["secret"]
        types = [
            "booking.created",
            "booking.cancelled",
            "incident.created",
            "schedule.entry_created",
            "signal.alert",
            "dispatch.assigned",
        ]
        for event_type in types:
            publish_on_commit(org=org, type=event_type, data={"n": 1})
        got = {prefix: sorted(verify(secrets[prefix], r)["type"] for r in f.requests) for prefix, f in fakes.items()}
        assert got["booking.cancelled"] == ["booking.cancelled"]
        assert got["incident.,signal.alert"] == ["incident.created", "signal.alert"]
        assert got[""] == sorted(types)
    finally:
        for fake in fakes.values():
            fake.stop()


def test_secret_is_shown_once_and_rotates(org, manager, receiver):
    created = manager.post("/admin/v1/webhooks", {"url": receiver.url}, format="json").json()
    assert created["secret"].startswith("whsec_")
    assert "secret" not in manager.get(f"/admin/v1/webhooks/{created['id']}").json()
    assert all("secret" not in e for e in manager.get("/admin/v1/webhooks").json()["results"])
    rotated = manager.post(f"/admin/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    publish_on_commit(org=org, type="incident.created", data={"id": "x"})
    assert verify(new_secret, receiver.requests[0])["type"] == "incident.created"
    with pytest.raises(Exception):  # noqa: B017 - the old secret no longer verifies
        verify(created["secret"], receiver.requests[0])
    assert (
        manager.post("/admin/v1/webhooks", {"url": receiver.url, "event_prefix": "bad prefix!"}, format="json").json()[
            "code"
        ]
        == "VALIDATION_ERROR"
    )


def test_event_type_webhook_url_has_its_own_secret(org, manager, receiver):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="hooked")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    created = manager.post(
        "/admin/v1/event-types",
        {"person_id": str(person.pk), "slug": "intro", "title": "Intro", "webhook_url": receiver.url},
        format="json",
    )
    assert created.status_code == 201, created.content
    secret = created.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    event_type_id = created.json()["id"]
    assert manager.get(f"/admin/v1/event-types/{event_type_id}").json().get("webhook_secret") is None
    assert manager.get("/admin/v1/webhooks").json()["results"] == []  # not an org endpoint
    day = (timezone.now() + timedelta(days=2)).date()
    booked = APIClient().post(
        "/v1/book/hooked/intro",
        {"start_time": f"{day}T09:00:00Z", "attendee_name": "Ann", "attendee_email": "ann@example.test"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="et-1",
    )
    assert booked.status_code == 201, booked.content
    assert sorted(verify(secret, r)["type"] for r in receiver.requests) == ["booking.confirmed", "booking.created"]
    assert all("ann@example.test" not in r.body.decode() for r in receiver.requests)
    rotated = manager.post(f"/admin/v1/event-types/{event_type_id}/rotate-webhook-secret").json()["webhook_secret"]
    assert rotated != secret
    token = booked.json()["cancel_url"].split("/")[-2]
    APIClient().post(f"/v1/book/manage/{token}/cancel", {"reason": "ill"}, format="json")
    assert verify(rotated, receiver.requests[-1])["type"] == "booking.cancelled"
    deliveries = manager.get("/admin/v1/webhook-deliveries", {"event_type": "booking."}).json()["results"]
    assert len(deliveries) == 3 and {d["status"] for d in deliveries} == {"delivered"}


def test_failures_back_off_then_fail_visibly_and_redeliver(org, manager, receiver, settings):
    settings.WEBHOOK_BACKOFF = [30, 60]
    receiver.status = 503
    created = manager.post("/admin/v1/webhooks", {"url": receiver.url}, format="json").json()
    publish_on_commit(org=org, type="schedule.entry_created", data={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=25)  # the backoff
    assert webhook_sweep() == 0  # not due: nothing queued
    due_now()
    assert webhook_sweep() == 1
    due_now()
    assert webhook_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.next_attempt_at is None
    due_now()
    assert webhook_sweep() == 0
    assert len(set(receiver.webhook_ids())) == 1 and len(receiver.requests) == 3  # one id for every try
    failed = manager.get("/admin/v1/webhook-deliveries", {"status": "failed"}).json()["results"]
    assert [d["id"] for d in failed] == [str(delivery.pk)]
    assert [a["status_code"] for a in failed[0]["attempt_log"]] == [503, 503, 503]
    receiver.status = 200
    again = manager.post(f"/admin/v1/webhook-deliveries/{delivery.pk}/redeliver")
    assert again.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 4
    assert verify(created["secret"], receiver.requests[-1])["type"] == "schedule.entry_created"


def test_timeout_is_a_retried_failure(org, manager, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    manager.post("/admin/v1/webhooks", {"url": receiver.url}, format="json")
    publish_on_commit(org=org, type="incident.created", data={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "Timeout" in attempt.error


def test_deleting_an_endpoint_cancels_its_pending_deliveries(org, manager, receiver):
    receiver.status = 500
    created = manager.post("/admin/v1/webhooks", {"url": receiver.url}, format="json").json()
    publish_on_commit(org=org, type="booking.created", data={})
    assert WebhookDelivery.objects.get().status == "pending"
    assert manager.delete(f"/admin/v1/webhooks/{created['id']}").status_code == 204
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "cancelled"
    due_now()
    assert webhook_sweep() == 0
    manager.post(f"/admin/v1/webhook-deliveries/{delivery.pk}/redeliver")
    publish_on_commit(org=org, type="booking.cancelled", data={})
    assert len(receiver.requests) == 1  # no retry, redelivery or new event reached it
    assert manager.get(f"/admin/v1/webhooks/{created['id']}").status_code == 404
    assert manager.get(f"/admin/v1/webhook-deliveries/{delivery.pk}").json()["status"] == "cancelled"  # log kept


def test_no_row_lock_is_held_across_the_http_call(org, manager, receiver):
    seen = []

    def try_lock(received):
        # The receiver, mid-request, locks the delivery row from another connection: NOWAIT
        # raises if the sender held it.
        try:
            with transaction.atomic():
                seen.append(WebhookDelivery.objects.select_for_update(nowait=True).count())
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            seen.append(exc)
        finally:
            connection.close()  # the receiver thread's own connection

    receiver.on_request = try_lock
    manager.post("/admin/v1/webhooks", {"url": receiver.url}, format="json")
    publish_on_commit(org=org, type="incident.created", data={})
    assert seen == [1]
    assert WebhookDelivery.objects.get().status == "delivered"


def test_under_a_backlog_any_queued_copy_delivers_and_only_once(org, receiver):
    """A try queued longer than its lease is queued again by the sweep; whichever copy runs
    first makes the one try (no livelock of copies skipping each other), the other skips."""
    from apps.events.models import Event, WebhookEndpoint
    from apps.events.outbox import event_dispatch, outbox_claim_due
    from apps.events.webhooks import deliver, deliveries_claim_due, new_secret

    event = Event.objects.create(org=org, type="test.backlog", lease_until=timezone.now() - timedelta(seconds=1))
    first_event_claim = "00000000-0000-0000-0000-000000000001"
    Event.objects.filter(pk=event.pk).update(lease_token=first_event_claim)
    [(_, second_event_claim)] = outbox_claim_due()
    assert event_dispatch(event_id=event.pk, lease_token=first_event_claim) == "dispatched"
    assert event_dispatch(event_id=event.pk, lease_token=second_event_claim) == "skipped"
    endpoint = WebhookEndpoint.objects.create(org=org, url=receiver.url, secret=new_secret())

    first_claim = "00000000-0000-0000-0000-000000000002"
    delivery = WebhookDelivery.objects.create(  # queued (claimed by its enqueue), the lease ran out
        org=org,
        event=event,
        endpoint=endpoint,
        url=endpoint.url,
        lease_token=first_claim,
        next_attempt_at=timezone.now(),
    )
    receiver.requests.clear()
    [(_, second_claim)] = deliveries_claim_due()
    assert second_claim != first_claim
    assert deliver(delivery.pk, first_claim) == "delivered"
    assert deliver(delivery.pk, second_claim) == "skipped"
    assert len(receiver.requests) == 1
