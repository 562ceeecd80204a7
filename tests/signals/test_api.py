"""Signals API: the feed, captures, beacons (fast path, live positions, stop, sweep)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.events.models import Event
from apps.orgs.models import Role
from apps.signals import services, tasks
from apps.signals.models import Beacon, Signal
from schedkit.api.problems import Problem
from tests.conftest import key_client
from tests.signals.factories import PNG_1PX

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_member_posts_a_note_and_the_feed_lists_and_filters_it(org, make_member):
    member = make_member(org, Role.MEMBER)
    client = key_client(member)
    response = client.post("/v1/signals", {"type": "note", "text": "gate 4 blocked", "lat": 52.5, "lng": 13.4})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "note" and body["membership_id"] == str(member.pk) and body["lat"] == 52.5
    event = Event.objects.get(org=org, type="signal.created")
    assert event.data["id"] == body["id"] and event.data["sender"]["membership_id"] == str(member.pk)

    client.post("/v1/signals", {"type": "checkin", "lat": 1, "lng": 2}, format="json")
    feed = client.get("/v1/signals").json()["results"]
    assert [s["type"] for s in feed] == ["checkin", "note"]
    only_notes = client.get("/v1/signals?type=note").json()["results"]
    assert [s["id"] for s in only_notes] == [body["id"]]
    assert client.get(f"/v1/signals/{body['id']}").json()["text"] == "gate 4 blocked"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "note", "text": "x", "colour": "red"}, "colour"),
        ({"type": "note"}, "text"),
        ({"type": "note", "text": "x", "lat": 91, "lng": 0}, "lat"),
        ({"type": "note", "text": "x", "lat": 10}, None),
        ({"type": "checkin"}, "lat"),
        ({"type": "alert"}, "title"),
        ({"type": "beacon", "lat": 91, "lng": 1}, "lat"),  # a beacon ping, checked like /v1/signals/beacon
        ({"type": "beacon", "lat": 1}, "lng"),
        ({"type": "teleport"}, "type"),
        ({"type": "note", "text": "x", "lat": "north", "lng": 1}, "lat"),
        ({"type": "note", "text": "x", "data": [1, 2]}, "data"),
    ],
)
def test_bad_input_is_a_400_problem_and_writes_nothing(org, payload, field):
    client = key_client(_owner(org))
    response = client.post("/v1/signals", payload, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "VALIDATION_ERROR"
    if field:
        assert field in {e["field"] for e in response.json()["errors"]}
    assert not Signal.objects.exists() and not Event.objects.filter(type__startswith="signal.").exists()


def _owner(org):
    from tests.factories import MembershipFactory

    return MembershipFactory(org=org, role=Role.OWNER)


def test_capture_upload_is_sniffed_from_bytes_and_served_back(org, make_member):
    client = key_client(make_member(org))
    upload = SimpleUploadedFile("pic.bin", PNG_1PX, content_type="application/octet-stream")
    response = client.post("/v1/signals", {"type": "capture", "title": "scene", "capture": upload}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["capture_content_type"] == "image/png" and body["capture_size"] == len(PNG_1PX)
    image = client.get(body["capture_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == PNG_1PX


def test_capture_lies_about_its_type_or_is_missing(org, make_member):
    client = key_client(make_member(org))
    fake = SimpleUploadedFile("evil.png", b"<script>alert(1)</script>", content_type="image/png")
    response = client.post("/v1/signals", {"type": "capture", "capture": fake}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "CAPTURE_UNSUPPORTED_TYPE"
    response = client.post("/v1/signals", {"type": "capture"}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "CAPTURE_REQUIRED"
    note_with_file = SimpleUploadedFile("a.png", PNG_1PX, content_type="image/png")
    response = client.post("/v1/signals", {"type": "note", "text": "x", "capture": note_with_file}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "CAPTURE_NOT_ALLOWED"
    assert not Signal.objects.exists()


def test_capture_over_the_size_limit_is_413(org, make_member, settings):
    settings.SIGNALS_CAPTURE_MAX_BYTES = 1024
    client = key_client(make_member(org))
    big = SimpleUploadedFile("big.png", PNG_1PX + b"\0" * 2048, content_type="image/png")
    response = client.post("/v1/signals", {"type": "capture", "capture": big}, format="multipart")
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "CAPTURE_TOO_LARGE"
    assert not Signal.objects.exists()


def test_beacon_first_ping_persists_later_pings_write_nothing(org, make_member):
    member = make_member(org, Role.MEMBER)
    client = key_client(member)
    first = client.post("/v1/signals/beacon", {"lat": 52.5, "lng": 13.4}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["started"] is True
    beacon = Beacon.objects.get(membership=member)
    assert first.json()["beacon_id"] == str(beacon.pk)
    assert Event.objects.filter(org=org, type="signal.beacon_on").count() == 1
    rows = (Signal.objects.count(), Event.objects.count())

    for i in range(20):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(
                "/v1/signals/beacon", {"lat": 52.5 + i / 1000, "lng": 13.4, "heading": 90, "speed": 1.5}, format="json"
            )
        assert response.status_code == 200, response.content
        assert response.json()["started"] is False and response.json()["beacon_id"] == str(beacon.pk)
        assert writes(ctx.captured_queries) == [], "a beacon ping after the first wrote to the database"
        assert len(ctx.captured_queries) == 0  # the hot path reads nothing either (key and position cached)
    assert (Signal.objects.count(), Event.objects.count()) == rows

    beacons = client.get("/v1/signals/beacons").json()["results"]
    assert len(beacons) == 1
    assert beacons[0]["position"]["lat"] == pytest.approx(52.519) and beacons[0]["position"]["speed"] == 1.5
    assert client.get(f"/v1/signals/beacons/{beacon.pk}").json()["position"]["heading"] == 90


def test_beacon_ping_validation(org, make_member):
    client = key_client(make_member(org))
    for payload in (
        {"lat": 100, "lng": 0},
        {"lat": 1},
        {"lat": 1, "lng": 1, "heading": 400},
        {"lat": 1, "lng": 1, "x": 1},
    ):
        response = client.post("/v1/signals/beacon", payload, format="json")
        assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR", payload
    assert not Beacon.objects.exists()


def test_beacon_stop_persists_beacon_off_and_clears_the_live_map(org, make_member):
    member = make_member(org, Role.MEMBER)
    client = key_client(member)
    client.post("/v1/signals/beacon", {"lat": 10, "lng": 20}, format="json")
    client.post("/v1/signals/beacon", {"lat": 11, "lng": 21}, format="json")
    response = client.post("/v1/signals/beacon/stop")
    assert response.status_code == 200, response.content
    assert response.json()["stop_reason"] == "stopped" and response.json()["stopped_at"]
    assert (response.json()["lat"], response.json()["lng"]) == (11, 21)  # the last live position
    off = Event.objects.get(org=org, type="signal.beacon_off")
    assert off.data["reason"] == "stopped"
    assert Signal.objects.filter(type="beacon", beacon_state="off").count() == 1
    assert client.get("/v1/signals/beacons").json()["results"] == []
    assert cache.get(services.live_key(org.pk, member.pk)) is None
    again = client.post("/v1/signals/beacon/stop")
    assert again.status_code == 409 and again.json()["code"] == "BEACON_NOT_ACTIVE"
    # The next ping starts a new beacon.
    assert client.post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json").status_code == 201
    assert Beacon.objects.filter(membership=member).count() == 2


def test_sweep_stops_silent_beacons_with_reason_timeout(org, make_member, settings):
    settings.SIGNALS_BEACON_TIMEOUT_SECONDS = 60
    quiet, lively = make_member(org), make_member(org)
    key_client(quiet).post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json")
    lively_client = key_client(lively)
    lively_client.post("/v1/signals/beacon", {"lat": 2, "lng": 2}, format="json")
    # The quiet beacon's last ping is 2 minutes old; the lively one pinged just now.
    key = services.live_key(org.pk, quiet.pk)
    stale = cache.get(key) | {"ts": (timezone.now() - timedelta(minutes=2)).isoformat()}
    cache.set(key, stale)
    # Stale positions are hidden on read even before the sweep runs.
    assert [b["position"] for b in lively_client.get("/v1/signals/beacons").json()["results"]].count(None) == 1

    assert tasks.sweep_stale_beacons.delay().get() == 1
    swept = Beacon.objects.get(membership=quiet)
    assert swept.stop_reason == "timeout" and swept.stopped_at is not None
    assert Beacon.objects.get(membership=lively).active
    off = Event.objects.get(type="signal.beacon_off")
    assert off.data["reason"] == "timeout" and off.data["membership_id"] == str(quiet.pk)
    assert services.beacon_sweep() == 0  # idempotent
    # A beacon that pinged again after the sweep read its position is not stopped.
    with pytest.raises(Problem) as refused:
        services.beacon_stop(actor=None, beacon=Beacon.objects.get(membership=lively), reason="timeout")
    assert refused.value.code == "BEACON_ALIVE"

    # A beacon whose cache entry vanished entirely is swept by its start time.
    Beacon.objects.filter(membership=lively).update(started_at=timezone.now() - timedelta(minutes=5))
    cache.delete(services.live_key(org.pk, lively.pk))
    assert services.beacon_sweep() == 1


def test_every_role_may_run_its_own_beacon_and_read_the_map(org, make_member):
    for role in Role.values:
        client = key_client(make_member(org, role))
        assert client.post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json").status_code == 201, role
        assert client.get("/v1/signals/beacons").status_code == 200
    assert Beacon.objects.active().count() == len(Role.values)


def test_concurrent_first_pings_start_one_beacon(org, make_member):
    member = make_member(org)
    client = key_client(member)
    client.post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json")
    cache.delete(services.live_key(org.pk, member.pk))  # e.g. the cache was flushed
    response = client.post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json")
    assert response.status_code == 200 and response.json()["started"] is False
    assert Beacon.objects.filter(membership=member).count() == 1


def test_push_subscriptions_are_per_user_and_admins_see_all(org, make_member):
    member, other, admin = make_member(org), make_member(org), make_member(org, Role.ADMIN)
    body = {"endpoint": "https://push.example.test/abc", "keys": {"p256dh": "B" + "x" * 86, "auth": "a" * 22}}
    client = key_client(member)
    created = client.post("/v1/push-subscriptions", body, format="json")
    assert created.status_code == 201, created.content
    assert client.post("/v1/push-subscriptions", body, format="json").status_code == 200  # same browser: refreshed
    assert len(client.get("/v1/push-subscriptions").json()["results"]) == 1
    assert key_client(other).get("/v1/push-subscriptions").json()["results"] == []
    sub_id = created.json()["id"]
    assert key_client(other).delete(f"/v1/push-subscriptions/{sub_id}").status_code == 404
    assert len(key_client(admin).get("/v1/push-subscriptions").json()["results"]) == 1
    bad = client.post(
        "/v1/push-subscriptions", {"endpoint": "nope", "keys": {"p256dh": "x", "auth": "y"}}, format="json"
    )
    assert bad.status_code == 400
    assert client.delete(f"/v1/push-subscriptions/{sub_id}").status_code == 204


def test_vapid_public_key_endpoint(org, make_member, settings):
    settings.VAPID_PUBLIC_KEY = "BPUBLIC"
    assert key_client(make_member(org)).get("/v1/push/vapid-key").json() == {"public_key": "BPUBLIC"}


def test_a_ping_racing_the_stop_cannot_keep_a_stopped_beacon_alive(org, make_member):
    member = make_member(org)
    client = key_client(member)
    client.post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json")
    key = services.live_key(org.pk, member.pk)
    raced = cache.get(key)
    client.post("/v1/signals/beacon/stop")
    cache.set(key, raced)  # a ping read the live entry before the stop and wrote it back after
    response = client.post("/v1/signals/beacon", {"lat": 2, "lng": 2}, format="json")
    assert response.status_code == 201 and response.json()["beacon_id"] != raced["beacon_id"]
    assert Beacon.objects.active().get(membership=member).pk != raced["beacon_id"]


def test_capture_upload_accepts_an_idempotency_key(org, make_member):
    client = key_client(make_member(org))

    def post():
        upload = SimpleUploadedFile("pic.png", PNG_1PX, content_type="image/png")
        return client.post(
            "/v1/signals", {"type": "capture", "capture": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="cap-1"
        )

    first, again = post(), post()
    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Signal.objects.count() == 1


def test_beacon_stop_accepts_an_idempotency_key(org, make_member):
    client = key_client(make_member(org))
    client.post("/v1/signals/beacon", {"lat": 1, "lng": 1}, format="json")
    first = client.post("/v1/signals/beacon/stop", HTTP_IDEMPOTENCY_KEY="stop-1")
    again = client.post("/v1/signals/beacon/stop", HTTP_IDEMPOTENCY_KEY="stop-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
