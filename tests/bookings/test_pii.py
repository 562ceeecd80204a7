"""PII done fully (issue 17): a blind-index key of its own, re-encryption of every row after a
key is prepended (with progress), and decrypt failures raised and logged, never shown as ""."""

import io
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.bookings import pii
from apps.bookings.models import Booking

pytestmark = pytest.mark.django_db
ROWS = 3000


def _bulk_bookings(org, count):
    start = timezone.now() + timedelta(days=3)
    Booking.objects.bulk_create(
        Booking(
            org=org,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            seat_group=f"bulk:{n}",
            status="confirmed",
            attendee_name=f"Guest {n}",
            attendee_email_enc=pii.encrypt(f"guest{n}@example.test"),
            attendee_phone_enc=pii.encrypt(f"+1555{n:07d}"),
            email_index=pii.blind_index(f"guest{n}@example.test", kind="email"),
            phone_index=pii.blind_index(f"+1555{n:07d}", kind="phone"),
        )
        for n in range(count)
    )


def test_reencrypt_every_row_after_a_key_is_prepended(org, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old]
    _bulk_bookings(org, ROWS)
    settings.PII_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("pii_reencrypt", "--batch-size", "700", stdout=out)
    report = out.getvalue()
    assert f"re-encrypting {ROWS} bookings" in report
    assert "  700/3000 rows" in report and "  3000/3000 rows (3000 re-encrypted, 0 failed)" in report
    settings.PII_ENCRYPTION_KEYS = [new]  # the old key can now go
    for booking in Booking.objects.order_by("?")[:50]:
        n = int(booking.attendee_name.split()[1])
        assert booking.attendee_email == f"guest{n}@example.test"
        assert booking.attendee_phone == f"+1555{n:07d}"
    assert Booking.objects.filter(email_index=pii.blind_index("guest1234@example.test", kind="email")).count() == 1


def test_a_new_index_key_is_applied_by_the_command(org, settings):
    _bulk_bookings(org, 20)
    assert settings.PII_INDEX_KEY == ""  # default: the historical SECRET_KEY-derived index
    settings.PII_INDEX_KEY = "a-separate-index-secret"
    lookup = pii.blind_index("guest7@example.test", kind="email")
    assert not Booking.objects.filter(email_index=lookup).exists()
    call_command("pii_reencrypt", stdout=io.StringIO())
    assert Booking.objects.filter(email_index=lookup).count() == 1
    settings.SECRET_KEY = "rotated-session-secret"  # the index no longer depends on it
    assert pii.blind_index("guest7@example.test", kind="email") == lookup


def test_the_index_key_is_not_the_secret_key(settings):
    settings.PII_INDEX_KEY = ""
    historical = pii.blind_index("a@example.test", kind="email")
    settings.PII_INDEX_KEY = "own-secret"
    assert pii.blind_index("a@example.test", kind="email") != historical


def test_undecryptable_rows_are_reported_and_fail_the_command(org, settings):
    old = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [old]
    _bulk_bookings(org, 5)
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key dropped too early
    err = io.StringIO()
    with pytest.raises(CommandError, match="5 bookings could not be decrypted"):
        call_command("pii_reencrypt", stdout=io.StringIO(), stderr=err)
    assert err.getvalue().count("undecryptable booking") == 5


def test_decrypt_failures_are_raised_and_logged(org, settings, caplog, make_member):
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _bulk_bookings(org, 1)
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    booking = Booking.objects.get()
    with caplog.at_level(logging.ERROR, logger="apps.bookings.pii"), pytest.raises(pii.PIIDecryptError):
        booking.attendee_email  # noqa: B018 - the property is the behaviour under test
    assert "PII decrypt failed" in caplog.text
    assert booking.attendee_email_enc not in caplog.text  # the ciphertext is not logged
    assert pii.decrypt("") == ""  # no value is still no value
