"""One lock per person's time, taken by every write that occupies it (bookings, holds,
schedule entries, dispatch offers), so a check-then-write on free/busy cannot interleave
with another process's.

On PostgreSQL a transaction-scoped advisory lock per membership, taken in sorted order (no
deadlock between two writers of the same people); released at commit or rollback. On SQLite
(the embedded default) the database's single writer already serializes writes.

Lock order across the project: team row → person-time locks (sorted) → slot rows (by pk) →
booking row.

Once a lock is taken, free/busy in the same transaction reads fresh data (no process
cache: apps/scheduling/time_version.py); the checks under the lock pass fresh=True too."""

import hashlib
from collections.abc import Iterable

from django.db import connection, transaction

from apps.scheduling import time_version


def _key(membership_id) -> int:
    digest = hashlib.blake2b(f"person-time:{membership_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_person_time(membership_ids: Iterable) -> None:
    """Hold the time of these memberships until the current transaction ends."""
    ids = sorted({str(m) for m in membership_ids if m})
    if not ids:
        return
    # From here on free/busy reads the database, not the process cache, until the
    # transaction ends (the check under the lock must see every commit before it).
    time_version.mark_locked()
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("lock_person_time() needs a transaction")
    with connection.cursor() as cursor:
        for membership_id in ids:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(membership_id)])
