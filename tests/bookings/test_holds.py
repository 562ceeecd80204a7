"""Hold → confirm on materialized slots: capacity, idempotency, expiry, no double booking."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.bookings.models import Booking
from apps.bookings.pii import blind_index
from apps.bookings.tasks import holds_expire_task
from apps.events.models import Event
from apps.orgs.models import Role
from apps.scheduling.models import SlotInstance
from tests.conftest import key_client
from tests.scheduling.factories import make_location, make_person, make_slot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frontdesk(org, make_member):
    return key_client(make_member(org, Role.FRONTDESK))


def hold(client, slot, key, **extra):
    body = {"slot_id": str(slot.pk), "attendee_name": "Ann", "attendee_phone": "+49 30 1234567", **extra}
    return client.post("/v1/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_hold_then_confirm(org, frontdesk):
    slot = make_slot(make_location(org), capacity=2)
    response = hold(frontdesk, slot, "k1", attendee_email="ann@example.test")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "held" and body["attendee_email"] == "a***@example.test"
    slot.refresh_from_db()
    assert (slot.hold, slot.booked, slot.status) == (1, 0, "partial")
    confirmed = frontdesk.post(f"/v1/bookings/{body['id']}/confirm", HTTP_IDEMPOTENCY_KEY="c1")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    slot.refresh_from_db()
    assert (slot.hold, slot.booked) == (0, 1)
    types = list(Event.objects.filter(org=org).order_by("id").values_list("type", flat=True))
    assert types == ["booking.created", "booking.confirmed"]
    assert "ann@example.test" not in str(Event.objects.filter(org=org).values_list("data", flat=True))


def test_idempotency_key_is_required_and_replays(org, frontdesk):
    slot = make_slot(make_location(org), capacity=3)
    missing = frontdesk.post("/v1/bookings", {"slot_id": str(slot.pk), "attendee_name": "Ann"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    first = hold(frontdesk, slot, "same")
    again = hold(frontdesk, slot, "same")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1
    reused = hold(frontdesk, slot, "same", attendee_name="Bob")
    assert reused.status_code == 422 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    booking_id = first.json()["id"]
    assert frontdesk.post(f"/v1/bookings/{booking_id}/confirm").json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_full_slot_is_409(org, frontdesk):
    slot = make_slot(make_location(org), capacity=1)
    assert hold(frontdesk, slot, "a").status_code == 201
    response = hold(frontdesk, slot, "b")
    assert response.status_code == 409 and response.json()["code"] == "SLOT_FULL"
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"slot_id": "not-a-uuid", "attendee_name": "Ann"},
        {"slot_id": "00000000-0000-0000-0000-000000000000"},
        {"attendee_name": "Ann"},
        {"slot_id": "00000000-0000-0000-0000-000000000000", "attendee_name": "Ann", "attendee_email": "nope"},
        {"slot_id": "00000000-0000-0000-0000-000000000000", "attendee_name": "Ann", "timezone": "Nowhere/City"},
        {"slot_id": "00000000-0000-0000-0000-000000000000", "attendee_name": "Ann", "extra": 1},
    ],
)
def test_bad_hold_input_is_400(frontdesk, body):
    response = frontdesk.post("/v1/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert response.status_code == 400, response.content


def test_unknown_slot_is_404(org, frontdesk):
    other = make_slot(make_location(make_location(org).org))  # same org sanity
    response = hold(frontdesk, other, "ok")
    assert response.status_code == 201
    body = {"slot_id": "00000000-0000-7000-8000-000000000000", "attendee_name": "Ann"}
    assert frontdesk.post("/v1/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="x").status_code == 404


def test_expired_hold_restores_capacity_on_read_and_by_the_job(org, frontdesk):
    slot = make_slot(make_location(org), capacity=1)
    first = hold(frontdesk, slot, "a").json()
    Booking.objects.filter(pk=first["id"]).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    # On read: the next hold expires the stale one under the slot lock.
    second = hold(frontdesk, slot, "b")
    assert second.status_code == 201
    assert Booking.objects.get(pk=first["id"]).status == "expired"
    late = frontdesk.post(f"/v1/bookings/{first['id']}/confirm", HTTP_IDEMPOTENCY_KEY="late")
    assert late.status_code == 409 and late.json()["code"] == "BOOKING_NOT_HELD"
    # By the job.
    Booking.objects.filter(pk=second.json()["id"]).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert holds_expire_task() == 1
    slot.refresh_from_db()
    assert (slot.hold, slot.booked, slot.status) == (0, 0, "open")


def test_confirming_an_expired_hold_is_410(org, frontdesk):
    slot = make_slot(make_location(org), capacity=1)
    booking = hold(frontdesk, slot, "a").json()
    Booking.objects.filter(pk=booking["id"]).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    response = frontdesk.post(f"/v1/bookings/{booking['id']}/confirm", HTTP_IDEMPOTENCY_KEY="c")
    assert response.status_code == 410 and response.json()["code"] == "HOLD_EXPIRED"
    slot.refresh_from_db()
    assert slot.hold == 0 and Booking.objects.get(pk=booking["id"]).status == "expired"


def test_a_person_is_never_double_booked_across_slots(org, frontdesk):
    location = make_location(org)
    person = make_person(org, location)
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    a = make_slot(location, person, start=start, minutes=60)
    other_location = make_location(org, name="Annex")
    b = make_slot(other_location, person, start=start + timedelta(minutes=30), minutes=60)
    assert hold(frontdesk, a, "a").status_code == 201
    response = hold(frontdesk, b, "b")
    assert response.status_code == 409 and response.json()["code"] == "PERSON_UNAVAILABLE"


@pytest.mark.services
def test_the_database_refuses_a_double_booking(org):
    assert connection.vendor == "postgresql"
    location = make_location(org)
    person = make_person(org, location)
    start = timezone.now() + timedelta(days=3)
    common = {"org": org, "person": person, "attendee_name": "x", "status": "confirmed"}
    Booking.objects.create(start_at=start, end_at=start + timedelta(hours=1), seat_group="g1", **common)
    # The same seat group (several seats of one slot) may overlap …
    Booking.objects.create(start_at=start, end_at=start + timedelta(hours=1), seat_group="g1", **common)
    # … another one may not, and a cancelled booking does not count.
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            start_at=start + timedelta(minutes=59), end_at=start + timedelta(hours=2), seat_group="g2", **common
        )
    Booking.objects.create(
        start_at=start + timedelta(hours=1), end_at=start + timedelta(hours=2), seat_group="g3", **common
    )
    Booking.objects.create(
        start_at=start, end_at=start + timedelta(hours=1), seat_group="g4", **{**common, "status": "cancelled"}
    )


def test_pii_is_encrypted_at_rest_and_found_by_blind_index(org, frontdesk, make_member):
    slot = make_slot(make_location(org), capacity=2)
    booking_id = hold(frontdesk, slot, "p", attendee_email="Secret@Example.test").json()["id"]
    email_enc, phone_enc = Booking.objects.filter(pk=booking_id).values_list(
        "attendee_email_enc", "attendee_phone_enc"
    )[0]
    assert "secret" not in email_enc.lower() and "1234567" not in phone_enc
    booking = Booking.objects.get(pk=booking_id)
    assert booking.attendee_email == "Secret@Example.test" and booking.attendee_phone == "+49 30 1234567"
    assert booking.email_index == blind_index("secret@example.test", kind="email")
    admin = key_client(make_member(org, Role.ADMIN))
    found = admin.get("/admin/v1/bookings", {"email": "SECRET@example.test"}).json()["results"]
    assert [b["id"] for b in found] == [booking_id]
    assert admin.get("/admin/v1/bookings", {"email": "other@example.test"}).json()["results"] == []


def test_pii_keys_rotate(settings):
    from cryptography.fernet import Fernet

    from apps.bookings import pii

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old]
    token = pii.encrypt("+15550100")
    settings.PII_ENCRYPTION_KEYS = f"{new},{old}"
    assert pii.decrypt(token) == "+15550100"
    rotated = pii.rotate(token)
    settings.PII_ENCRYPTION_KEYS = [new]
    assert pii.decrypt(rotated) == "+15550100"
    with pytest.raises(pii.PIIDecryptError):  # raised and logged, never shown as ""
        pii.decrypt(token)


def test_admin_cancel_and_reschedule(org, frontdesk, make_member):
    location = make_location(org)
    a, b = make_slot(location, capacity=1), make_slot(location, capacity=1, start=timezone.now() + timedelta(days=4))
    booking_id = hold(frontdesk, a, "h").json()["id"]
    frontdesk.post(f"/v1/bookings/{booking_id}/confirm", HTTP_IDEMPOTENCY_KEY="c")
    admin = key_client(make_member(org, Role.ADMIN))
    moved = admin.patch(
        f"/admin/v1/bookings/{booking_id}", {"action": "reschedule", "slot_id": str(b.pk)}, format="json"
    )
    assert moved.status_code == 200, moved.content
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.booked, b.booked, b.status) == (0, 1, "full")
    assert moved.json()["slot_id"] == str(b.pk)
    cancelled = admin.patch(f"/admin/v1/bookings/{booking_id}", {"action": "cancel", "reason": "ill"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    b.refresh_from_db()
    assert (b.booked, b.status) == (0, "open")
    again = admin.patch(f"/admin/v1/bookings/{booking_id}", {"action": "cancel"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "BOOKING_NOT_ACTIVE"
    types = set(Event.objects.filter(org=org).values_list("type", flat=True))
    assert {"booking.rescheduled", "booking.cancelled"} <= types
    listed = admin.get("/admin/v1/bookings", {"status": "cancelled"}).json()["results"]
    assert [x["id"] for x in listed] == [booking_id]


def test_members_see_only_their_own_bookings(org, frontdesk, make_member):
    slot = make_slot(make_location(org), capacity=3)
    theirs = hold(frontdesk, slot, "f").json()["id"]
    member = key_client(make_member(org, Role.MEMBER))
    mine = hold(member, slot, "m").json()["id"]
    assert member.get(f"/v1/bookings/{mine}").status_code == 200
    assert member.get(f"/v1/bookings/{theirs}").status_code == 404
    assert frontdesk.get(f"/v1/bookings/{mine}").status_code == 200
    assert SlotInstance.objects.get(pk=slot.pk).hold == 2


def test_a_persons_overdue_hold_elsewhere_does_not_block_them(org, frontdesk):
    location = make_location(org)
    person = make_person(org, location)
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    a = make_slot(location, person, start=start, minutes=60)
    b = make_slot(make_location(org, name="Annex"), person, start=start, minutes=60)
    first = hold(frontdesk, a, "a").json()
    Booking.objects.filter(pk=first["id"]).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert hold(frontdesk, b, "b").status_code == 201
    a.refresh_from_db()
    assert (a.hold, a.status) == (0, "open")


def test_booking_posts_are_rate_limited(org, frontdesk, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "booking": "2/day"}  # a day window: no boundary flake
    slot = make_slot(make_location(org), capacity=5)
    assert [hold(frontdesk, slot, f"r{n}").status_code for n in range(3)] == [201, 201, 429]


def test_funnel_metrics_are_exported(org, frontdesk):
    slot = make_slot(make_location(org), capacity=1)
    booking_id = hold(frontdesk, slot, "m1").json()["id"]
    hold(frontdesk, slot, "m2")
    frontdesk.post(f"/v1/bookings/{booking_id}/confirm", HTTP_IDEMPOTENCY_KEY="m3")
    from apps.bookings import metrics

    assert metrics.BOOKING_CONFLICTS.labels("SLOT_FULL")._value.get() >= 1
    assert metrics.HOLD_TO_CONFIRM._sum.get() > 0


# The hold's locked transaction, BEGIN to COMMIT: the person row and lock, overdue holds
# expired (person, then slot), the slot row lock, the host's busy time (entries, bookings,
# external calendars), the insert in its savepoint, the seat count and the outbox event.
HOLD_TRANSACTION = 16


def test_a_hold_transaction_is_short_and_reads_nothing_only_to_validate(org, frontdesk):
    """The hold path is hot (issue 16: holds at 50 clients, shortest possible transaction):
    its locked transaction's statements are pinned, and none of them only validates what the
    database enforces anyway (Django's primary-key uniqueness check, `booking_order` as a
    SELECT)."""
    location = make_location(org)
    person = make_person(org, location=location)
    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    first = make_slot(location, person, capacity=2, start=start)
    second = make_slot(location, person, capacity=2, start=start + timedelta(hours=3))
    assert hold(frontdesk, first, "warm").status_code == 201  # caches warm (API key, settings)
    with CaptureQueriesContext(connection) as ctx:
        response = hold(frontdesk, second, "measured")
    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in ctx.captured_queries]
    lock = next(n for n, sql in enumerate(statements) if "pg_advisory_xact_lock" in sql)
    begin = max(n for n in range(lock) if statements[n] == "BEGIN")
    commit = next(n for n in range(lock, len(statements)) if statements[n] == "COMMIT")
    transaction_statements = statements[begin : commit + 1]
    assert not [s for s in transaction_statements if '"_check"' in s or s.startswith('SELECT 1 AS "a"')]
    assert len(transaction_statements) == HOLD_TRANSACTION, "\n".join(transaction_statements)
