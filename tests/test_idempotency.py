"""Idempotency-Key: replay, reuse with another payload, and a twin arriving mid-flight."""

import threading
import time

import httpx
import psycopg
import pytest
from django.db import connection

from apps.orgs.models import Team
from schedkit.api.models import IdempotencyKey
from tests.conftest import key_client
from tests.servers import asgi_server, server_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_key_replays_the_first_response(owner):
    client = key_client(owner)
    url = f"/v1/orgs/{owner.org.slug}/teams"
    first = client.post(url, {"slug": "alpha", "name": "Alpha"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    again = client.post(url, {"name": "Alpha", "slug": "alpha"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Team.objects.count() == 1


def test_errors_replay_too_and_keys_are_per_actor(owner, make_member):
    client = key_client(owner)
    url = f"/v1/orgs/{owner.org.slug}/teams"
    bad = client.post(url, {"slug": "no spaces"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert bad.status_code == 400
    assert client.post(url, {"slug": "no spaces"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2").json() == bad.json()
    other = key_client(make_member(owner.org, "admin"))  # another actor may use the same key
    response = other.post(url, {"slug": "bravo", "name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 201


def test_same_key_different_payload_is_422(owner):
    client = key_client(owner)
    url = f"/v1/orgs/{owner.org.slug}/teams"
    assert client.post(url, {"slug": "a", "name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 201
    response = client.post(url, {"slug": "b", "name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 422 and response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert list(Team.objects.values_list("slug", flat=True)) == ["a"]


def test_expired_key_is_fresh_again(owner):
    from datetime import timedelta

    from django.utils import timezone

    client = key_client(owner)
    url = f"/v1/orgs/{owner.org.slug}/teams"
    client.post(url, {"slug": "a", "name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(url, {"slug": "b", "name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert response.status_code == 201


def test_stored_for_24_hours(owner):
    from datetime import timedelta

    client = key_client(owner)
    client.post(
        f"/v1/orgs/{owner.org.slug}/teams", {"slug": "a", "name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="k-5"
    )
    record = IdempotencyKey.objects.get()
    assert record.state == "done" and record.response_status == 201
    assert abs((record.expires_at - record.created_at) - timedelta(hours=24)) < timedelta(seconds=5)


@pytest.mark.services
def test_concurrent_twin_gets_409_in_progress(owner):
    """Two real concurrent requests against a real server: the first is held inside its
    transaction by a PostgreSQL table lock; its twin must answer 409 at once."""
    raw = key_client(owner).raw_key
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "twin"}
    body = {"slug": "night", "name": "Night"}
    db = connection.settings_dict
    with asgi_server(server_env()) as server:
        url = f"{server.base_url}/v1/orgs/{owner.org.slug}/teams"
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as locker:
            locker.execute(f"LOCK TABLE {Team._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            results = {}
            first = threading.Thread(
                target=lambda: results.setdefault("first", httpx.post(url, json=body, headers=headers, timeout=30))
            )
            first.start()
            deadline = time.monotonic() + 10
            while not IdempotencyKey.objects.filter(key="twin").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            twin = httpx.post(url, json=body, headers=headers, timeout=10)
            assert twin.status_code == 409, twin.text
            assert twin.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
            assert first.is_alive(), "the first request must still be running"
            locker.rollback()  # release the lock
        first.join(timeout=30)
        assert results["first"].status_code == 201, results["first"].text
        replay = httpx.post(url, json=body, headers=headers, timeout=10)
        assert replay.status_code == 201 and replay.json() == results["first"].json()
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert Team.objects.filter(slug="night").count() == 1
