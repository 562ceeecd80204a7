"""Re-encrypt every booking's attendee email and phone under the newest PII key and
recompute their blind indexes (after prepending a key to PII_ENCRYPTION_KEYS, or setting a
new PII_INDEX_KEY). Batched, one transaction per batch, progress on stdout; rows that no key
opens are reported (by id) and leave the exit status non-zero, the others are still done.

    python manage.py pii_reencrypt [--batch-size 500] [--dry-run]
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.bookings import pii
from apps.bookings.models import Booking

FIELDS = ["attendee_email_enc", "attendee_phone_enc", "email_index", "phone_index"]


def _reencrypted(booking: Booking) -> None:
    email = pii.decrypt(booking.attendee_email_enc)
    phone = pii.decrypt(booking.attendee_phone_enc)
    booking.attendee_email_enc = pii.rotate(booking.attendee_email_enc)
    booking.attendee_phone_enc = pii.rotate(booking.attendee_phone_enc)
    booking.email_index = pii.blind_index(email, kind="email")
    booking.phone_index = pii.blind_index(phone, kind="phone")


class Command(BaseCommand):
    help = "Re-encrypt attendee PII under the newest key and recompute the blind indexes."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help="decrypt and count, write nothing")

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        total = Booking.objects.count()
        done, failed, last_pk = 0, [], None
        self.stdout.write(f"re-encrypting {total} bookings in batches of {batch_size}{' (dry run)' if dry_run else ''}")
        while True:
            with transaction.atomic():
                rows = Booking.objects.order_by("pk").select_for_update(of=("self",))
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                batch = list(rows.only("pk", *FIELDS)[:batch_size])
                if not batch:
                    break
                last_pk = batch[-1].pk
                changed = []
                for booking in batch:
                    try:
                        _reencrypted(booking)
                    except pii.PIIDecryptError:
                        failed.append(str(booking.pk))
                        continue
                    changed.append(booking)
                if not dry_run:
                    Booking.objects.bulk_update(changed, FIELDS)
                done += len(changed)
            self.stdout.write(f"  {done + len(failed)}/{total} rows ({done} re-encrypted, {len(failed)} failed)")
        self.stdout.write(f"done: {done} re-encrypted, {len(failed)} could not be decrypted")
        if failed:
            for pk in failed[:50]:
                self.stderr.write(f"  undecryptable booking {pk}")
            raise CommandError(f"{len(failed)} bookings could not be decrypted with the configured keys")
