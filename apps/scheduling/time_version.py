"""Each org's "time version": a random token in the shared cache that changes whenever data
the free/busy query reads changes, so `free_busy()` can keep the stable part of an answer in
the process (freebusy.py) and know with one cache GET whether it is still current.

Every writer of time-relevant data bumps the token after its transaction commits (a value
computed before the commit, from the old rows, must not be kept under the new token). The
model writes are caught by receivers (`watch`, connected in the owning apps'
`AppConfig.ready`: scheduling, bookings, calendars); writes that bypass model signals
(`QuerySet.update()`, `bulk_create()`, fast deletes) call `bump()` themselves. A bump
deletes the token; the next reader sets a fresh one with `add`. Unlike the API keys'
invalidation, a bump that cannot reach Redis is logged, not raised: it runs after the commit
(the write happened), readers that cannot reach Redis read fresh, and the per-process entries
live at most freebusy.STABLE_TTL_SECONDS.

Inside a transaction that has bumped an org (its own writes are not committed, so not yet in
the token) or taken a person-time lock (apps.scheduling.locks), `read_fresh()` is true and
free/busy reads the database, never the process cache: a check under the lock sees every
commit before it, and a transaction sees its own writes."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from schedkit.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)
_ANY = "*"  # the mark of a person-time lock: every org reads fresh until the transaction ends


def _key(org_id) -> str:
    return f"schedule:time-version:{org_id}"


def token(org_id) -> str | None:
    """The org's current token: one cache GET (a miss: `add` a fresh one, then use whatever
    the cache holds, so concurrent first readers agree). None when the shared cache cannot
    answer (Redis down: schedkit.cache softens the GET to a miss, not the `add`): the
    caller then reads fresh."""
    key = _key(org_id)
    found = cache.get(key)
    if found is None:
        fresh = uuid.uuid4().hex
        try:
            if cache.add(key, fresh, None):
                return fresh
            found = cache.get(key)
        except REDIS_UNAVAILABLE:
            return None
    return found


class _Mark:
    """An on_commit callback that bumps its org (or, for `_ANY`, only marks the transaction).
    Being a callback of the current transaction is what makes the mark true: Django drops
    it on rollback (or with its savepoint), and runs it at commit."""

    __slots__ = ("org_id",)

    def __init__(self, org_id):
        self.org_id = org_id

    def __call__(self):
        if self.org_id == _ANY:
            return
        try:
            cache.delete(_key(self.org_id))
        except REDIS_UNAVAILABLE as exc:
            # The write is committed: failing it now would only mislead its caller. While
            # Redis is down every reader's GET fails too and reads fresh; a reader that still
            # reaches it may serve the old stable part until the entry's TTL (freebusy).
            logger.warning("time version bump of org %s lost, Redis unavailable: %s", self.org_id, exc)


def _marks() -> dict:
    """{org id or _ANY: mark} of the current transaction, from its pending on_commit
    callbacks. Django replaces `run_on_commit` (a list of (savepoint ids, func, robust))
    on commit, rollback and savepoint rollback, so the list's identity says whether the
    marks read before still hold; if not, they are read again from the list."""
    state = getattr(connection, "_schedkit_time_marks", None)
    if state is None or state[0] is not connection.run_on_commit:
        marks = {func.org_id: func for _sids, func, _robust in connection.run_on_commit if isinstance(func, _Mark)}
        state = (connection.run_on_commit, marks)
        connection._schedkit_time_marks = state
    return state[1]


def _mark(org_id) -> None:
    if not connection.in_atomic_block:
        _Mark(org_id)()  # autocommit: the write is already committed
        return
    marks = _marks()
    if org_id not in marks:
        mark = _Mark(org_id)
        transaction.on_commit(mark)
        marks[org_id] = mark


def bump(org_id) -> None:
    """The org's time data changed: a new token once the current transaction commits (once
    per transaction however many rows changed), and fresh reads inside it until then."""
    if org_id is not None:
        _mark(str(org_id))


def mark_locked() -> None:
    """A person-time lock was taken: free/busy reads fresh until the transaction ends."""
    if connection.in_atomic_block:
        _mark(_ANY)


def read_fresh(org_id) -> bool:
    """Must free/busy read the database for this org now (see the module docstring)?"""
    if not connection.in_atomic_block:
        return False
    marks = _marks()
    return bool(marks) and (_ANY in marks or str(org_id) in marks)


# --- receivers ------------------------------------------------------------------------------


def _org_of(instance):
    org_id = getattr(instance, "org_id", None)
    return instance.pk if org_id is None and instance._meta.model_name == "org" else org_id


def watch(model, *, fields: tuple[str, ...] = (), skip=None, deletes: bool = True) -> None:
    """Bump the org of every saved or deleted `model` row. `fields`: when given, a save with
    `update_fields` none of which is among them does not bump (a timestamp-only save);
    `skip(instance)`: true for rows that never reach the cached answer (e.g. a live hold);
    `deletes=False` leaves deletes to explicit bumps (a post_delete receiver turns Django's
    fast `QuerySet.delete()` into a fetch and a signal per row)."""
    wanted = frozenset(fields)

    def on_save(sender, instance, update_fields=None, **kwargs):
        if wanted and update_fields is not None and not wanted & set(update_fields):
            return
        if skip is not None and skip(instance):
            return
        bump(_org_of(instance))

    def on_delete(sender, instance, **kwargs):
        bump(_org_of(instance))

    uid = f"time-version-{model._meta.label_lower}"
    post_save.connect(on_save, sender=model, weak=False, dispatch_uid=uid)
    if deletes:
        post_delete.connect(on_delete, sender=model, weak=False, dispatch_uid=uid)


def watch_m2m(through) -> None:
    """Bump on every change of an m2m set (add/remove/clear, from either side)."""

    def on_change(sender, instance, action, **kwargs):
        if action.startswith("post_"):
            bump(_org_of(instance))

    m2m_changed.connect(on_change, sender=through, weak=False, dispatch_uid=f"time-version-{through._meta.label_lower}")
