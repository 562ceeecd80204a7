"""free/busy keeps the stable part of its answers per process under each org's time version
(apps/scheduling/time_version.py). With the cache warm, every kind of write that can change
an answer shows in the very next call — checked against a fresh read (`fresh=True`) — live
holds are read on every call, reads under a person-time lock and inside a writing
transaction are fresh, and every table the query reads has a receiver that bumps the token.

Real PostgreSQL and Redis, real commits (transactional tests: the bump runs at commit)."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.bookings import selectors as booking_selectors
from apps.bookings.models import Booking, EventType
from apps.calendars import selectors as calendar_selectors
from apps.calendars import services as calendar_services
from apps.calendars.models import BusyBlock, ConnectedCalendar
from apps.scheduling import freebusy, services, time_version
from apps.scheduling.locks import lock_person_time
from apps.scheduling.models import AvailabilityRule, Location, Person, ScheduleEntry, ScheduleOverride
from tests.calendars.factories import make_connection
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)

START = (timezone.now() + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
END = START + timedelta(days=7)
DAY2 = START + timedelta(days=1)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.FREEBUSY_CACHE = True


@pytest.fixture
def world(org):
    location = make_location(org, tz="Europe/Berlin")
    other = make_location(org, name="Other", tz="America/New_York")
    alice, bob = make_person(org, location), make_person(org, location)
    make_rule(location)  # the location's rule: bob's
    make_rule(location, alice, start_time=time(8), end_time=time(12))
    make_rule(other, start_time=time(13), end_time=time(20))
    entry = services.schedule_entry_create(
        actor=None,
        org=org,
        title="stand-up",
        start=START + timedelta(hours=9),
        end=START + timedelta(hours=9, minutes=30),
        timezone="Europe/Berlin",
        rrule="FREQ=DAILY",
        assignees=[alice.membership],
        force=True,
    )
    event_type = EventType.objects.create(org=org, person=alice, slug="intro", title="Intro", duration_minutes=30)
    booking = Booking.objects.create(
        org=org,
        person=alice,
        event_type=event_type,
        start_at=DAY2 + timedelta(hours=14),
        end_at=DAY2 + timedelta(hours=15),
        seat_group="b1",
        status="confirmed",
        attendee_name="Ann",
    )
    calendar_connection = make_connection(alice.membership)
    calendar = ConnectedCalendar.objects.get(connection=calendar_connection)
    BusyBlock.objects.create(
        org=org,
        calendar=calendar,
        membership=alice.membership,
        start=DAY2 + timedelta(hours=16),
        end=DAY2 + timedelta(hours=17),
    )
    return {
        "org": org,
        "location": location,
        "other": other,
        "alice": alice,
        "bob": bob,
        "entry": entry,
        "event_type": event_type,
        "booking": booking,
        "connection": calendar_connection,
        "calendar": calendar,
    }


def _snapshot(times) -> dict:
    """Everything an answer says, as plain values (people by id, free windows included)."""
    return {
        pk: (
            sorted(
                (i.source, i.ref, i.start, i.end, i.title, i.status, i.group, i.pad_before, i.pad_after) for i in t.busy
            ),
            sorted((i.ref, i.start, i.end) for i in t.on_call),
            sorted(r.pk for r in t.rules),
            [(i.start, i.end) for i in t.free],
        )
        for pk, t in times.items()
    }


def _ask(org, **kwargs):
    return _snapshot(freebusy.free_busy(org=org, start=START, end=END, **kwargs))


def _hold(w, *, minutes=10, hour=11):
    return Booking.objects.create(
        org=w["org"],
        person=w["bob"],
        start_at=DAY2 + timedelta(hours=hour),
        end_at=DAY2 + timedelta(hours=hour + 1),
        seat_group="h1",
        status="held",
        hold_expires_at=timezone.now() + timedelta(minutes=minutes),
        attendee_name="Hal",
    )


# Each write as the product makes it (services where they exist, else model saves, queryset
# deletes, m2m changes): after it, the warm cache must give the fresh answer at once.
def _entry_create(w):
    services.schedule_entry_create(
        actor=None, org=w["org"], title="new", start=DAY2 + timedelta(hours=10), end=DAY2 + timedelta(hours=11),
        assignees=[w["bob"].membership], force=True,
    )  # fmt: skip


def _entry_update(w):
    services.schedule_entry_update(actor=None, entry=w["entry"], changes={"title": "retro"}, force=True)


def _entry_delete(w):
    services.schedule_entry_delete(actor=None, entry=w["entry"])


def _override_create(w):
    original = START + timedelta(days=2, hours=9)
    ScheduleOverride.objects.create(
        org=w["org"], master=w["entry"], original_start=original, start=original + timedelta(hours=2),
        end=original + timedelta(hours=2, minutes=30),
    )  # fmt: skip


def _override_assignees(w):
    original = START + timedelta(days=2, hours=9)
    override = ScheduleOverride.objects.create(
        org=w["org"], master=w["entry"], original_start=original, start=original, end=original + timedelta(minutes=30)
    )
    override.assignees.set([w["bob"].membership])


def _override_delete(w):
    _override_create(w)
    warm = _ask(w["org"])  # warm again, with the override
    ScheduleOverride.objects.filter(master=w["entry"]).delete()
    return warm


def _assignee_add(w):
    w["entry"].assignees.add(w["bob"].membership)


def _assignee_remove_reverse(w):
    w["alice"].membership.schedule_entries.remove(w["entry"])  # from the membership's side


def _rule_create(w):
    make_rule(w["location"], w["bob"], start_time=time(6), end_time=time(7))


def _rule_update(w):
    rule = AvailabilityRule.objects.get(person=w["alice"])
    rule.end_time = time(11)
    rule.save()


def _rule_delete(w):
    AvailabilityRule.objects.filter(person=w["alice"]).delete()


def _person_location(w):
    bob = Person.objects.get(pk=w["bob"].pk)
    bob.location = w["other"]
    bob.save(update_fields=["location"])


def _person_inactive(w):
    bob = Person.objects.get(pk=w["bob"].pk)
    bob.active = False
    bob.save()


def _membership_inactive(w):
    membership = w["bob"].membership
    membership.active = False
    membership.save()


def _location_timezone(w):
    location = Location.objects.get(pk=w["location"].pk)
    location.timezone = "Asia/Tokyo"
    location.save()


def _booking_confirm(w):
    Booking.objects.create(
        org=w["org"], person=w["bob"], start_at=DAY2 + timedelta(hours=9), end_at=DAY2 + timedelta(hours=10),
        seat_group="b2", status="confirmed", attendee_name="Bo",
    )  # fmt: skip


def _booking_cancel(w):
    booking = w["booking"]
    booking.status = "cancelled"
    booking.save(update_fields=["status", "updated_at"])


def _booking_reschedule(w):
    booking = w["booking"]
    booking.start_at += timedelta(hours=1)
    booking.end_at += timedelta(hours=1)
    booking.save()


def _buffers(w):
    event_type = w["event_type"]
    event_type.buffer_after_minutes = 15
    event_type.save(update_fields=["buffer_after_minutes"])


def _hold_created(w):
    _hold(w)


def _hold_confirmed(w):
    hold = _hold(w)
    warm = _ask(w["org"])  # warm with the hold live
    hold.status = "confirmed"
    hold.hold_expires_at = None
    hold.save(update_fields=["status", "hold_expires_at", "updated_at"])
    return warm


def _hold_expired(w):
    hold = _hold(w)
    warm = _ask(w["org"])  # warm with the hold live
    # the clock passes its expiry: no write of any kind tells the cache (`update`, no signal)
    Booking.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    return warm


def _busy_block_create(w):
    BusyBlock.objects.create(
        org=w["org"], calendar=w["calendar"], membership=w["alice"].membership,
        start=DAY2 + timedelta(hours=18), end=DAY2 + timedelta(hours=19),
    )  # fmt: skip


def _calendar_unchecked(w):
    calendar_services.connection_update(
        actor=w["alice"].membership,
        connection=w["connection"],
        calendars=[{"calendar_id": w["calendar"].calendar_id, "check_conflicts": False}],
    )


def _grant_lost(w):
    calendar_services.connection_needs_reconsent(connection=w["connection"], error="revoked")


WRITES = [
    _entry_create, _entry_update, _entry_delete, _override_create, _override_assignees, _override_delete,
    _assignee_add, _assignee_remove_reverse, _rule_create, _rule_update, _rule_delete, _person_location,
    _person_inactive, _membership_inactive, _location_timezone, _booking_confirm, _booking_cancel,
    _booking_reschedule, _buffers, _hold_created, _hold_confirmed, _hold_expired, _busy_block_create,
    _calendar_unchecked, _grant_lost,
]  # fmt: skip


@pytest.mark.parametrize("write", WRITES, ids=[w.__name__.strip("_") for w in WRITES])
def test_a_warm_read_sees_every_kind_of_write_at_once(world, write):
    org = world["org"]
    before = _ask(org)
    assert _ask(org) == before  # warm: the second read is the cached one
    before = write(world) or before  # (a write that set up and warmed its own "before")
    after = _ask(org)
    assert after == _ask(org, fresh=True)
    assert after != before


def test_a_warm_read_is_the_token_get_and_the_live_holds_query(world):
    org = world["org"]
    people = list(Person.objects.filter(org=org).select_related("location", "org", "membership"))
    with CaptureQueriesContext(connection) as cold:
        freebusy.free_busy(org=org, start=START, end=END, people=people)
    with CaptureQueriesContext(connection) as warm:
        freebusy.free_busy(org=org, start=START, end=END, people=people)
    with CaptureQueriesContext(connection) as warm_by_org:
        freebusy.free_busy(org=org, start=START, end=END)
    # rules, entries (one statement on PostgreSQL, four ORM queries elsewhere), bookings with
    # live holds, calendar blocks
    assert len(cold) == (4 if connection.vendor == "postgresql" else 7)
    assert len(warm) == 1  # live holds (and one cache GET of the token)
    assert "hold_expires_at" in warm[0]["sql"]
    assert len(warm_by_org) == 2  # the org's people, live holds


def test_the_cached_lists_are_the_callers_own(world):
    org, alice = world["org"], world["alice"]
    first = freebusy.free_busy(org=org, start=START, end=END)
    first[alice.pk].busy.clear()
    first[alice.pk].rules.clear()
    again = freebusy.free_busy(org=org, start=START, end=END)
    assert again[alice.pk].busy and again[alice.pk].rules


def test_reads_under_a_person_time_lock_are_fresh(world):
    """A write that bypasses every receiver (a raw `update`) leaves the warm cache stale — it
    is real — but a read under the lock, the checks that prevent double-booking, sees it."""
    org, bob = world["org"], world["bob"]
    ghost = Booking.objects.create(
        org=org, person=bob, start_at=DAY2 + timedelta(hours=9), end_at=DAY2 + timedelta(hours=10),
        seat_group="g", status="cancelled", attendee_name="G",
    )  # fmt: skip
    warm = _ask(org)
    Booking.objects.filter(pk=ghost.pk).update(status="confirmed")  # no signal: no bump
    assert _ask(org) == warm  # stale by design: the cache trusts the token
    assert _ask(org) != _ask(org, fresh=True)
    with transaction.atomic():
        assert not time_version.read_fresh(org.pk)
        lock_person_time([bob.membership_id])
        assert time_version.read_fresh(org.pk)
        assert _ask(org) == _ask(org, fresh=True)
        times = freebusy.free_busy(org=org, start=START, end=END, people=[bob])
        assert any(i.ref == str(ghost.pk) for i in times[bob.pk].busy)
    with transaction.atomic():
        assert not time_version.read_fresh(org.pk)  # the mark ended with its transaction


def test_a_transaction_reads_its_own_writes_and_a_rollback_drops_the_mark(world):
    org, bob = world["org"], world["bob"]
    _ask(org)
    with transaction.atomic():
        _booking_confirm(world)
        assert time_version.read_fresh(org.pk)
        assert _ask(org) == _ask(org, fresh=True)
        inside = _ask(org)
        transaction.set_rollback(True)
    after = _ask(org)
    assert after != inside and after == _ask(org, fresh=True)
    assert not any(i[1] for i in after[bob.pk][0] if i[0] == "booking")
    with transaction.atomic():
        assert not time_version.read_fresh(org.pk)


def test_many_rows_in_one_transaction_bump_once(world):
    with transaction.atomic():
        for hour in range(5):
            make_rule(world["location"], world["bob"], start_time=time(hour), end_time=time(hour, 30))
        marks = [func for _s, func, _r in connection.run_on_commit if isinstance(func, time_version._Mark)]
    assert len(marks) == 1


def test_the_token_is_shared_and_a_bump_replaces_it(world):
    org = world["org"]
    first = time_version.token(org.pk)
    assert time_version.token(org.pk) == first
    time_version.bump(org.pk)  # autocommit: at once
    assert time_version.token(org.pk) != first


# --- every table the query reads has a bumping receiver --------------------------------------

# The tables read by Python (ORM) code rather than the SQL texts below.
_ORM_READ = {Person, Location, AvailabilityRule, django_apps.get_model("orgs", "Membership")}


def _sql_tables() -> set:
    texts = [freebusy._ENTRY_SQL, booking_selectors._BUSY_SQL, calendar_selectors._BUSY_SQL]
    found = set()
    for model in django_apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if any(re.search(rf"\b{re.escape(table)}\b", text) for text in texts):
            found.add(model)
    return found


def _watched(model) -> bool:
    signal = m2m_changed if model._meta.auto_created else post_save
    uid = f"time-version-{model._meta.label_lower}"
    return any(entry[0][0] == uid for entry in signal.receivers)  # (lookup key, receiver, …)


def test_every_table_free_busy_reads_bumps_the_time_version():
    """A new join in one of the queries fails here until its model is watched."""
    models = _sql_tables() | _ORM_READ
    assert {ScheduleEntry, ScheduleOverride, Booking, EventType, BusyBlock, ConnectedCalendar} <= models
    missing = sorted(m._meta.label for m in models if not _watched(m))
    assert missing == []


def test_only_the_live_holds_are_read_on_every_call():
    assert freebusy._CACHEABLE == set(freebusy._SOURCES) == {"booking", "google"}
    assert {name: kind for name, (_fn, kind) in freebusy._LIVE.items()} == {"booking": "hold"}


def test_an_hold_expired_on_read_never_counts_under_a_warm_cache(world):
    org, bob = world["org"], world["bob"]
    hold = _hold(world)
    assert any(i.ref == str(hold.pk) for i in freebusy.free_busy(org=org, start=START, end=END)[bob.pk].busy)
    Booking.objects.filter(pk=hold.pk).update(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert not any(i.ref == str(hold.pk) for i in freebusy.free_busy(org=org, start=START, end=END)[bob.pk].busy)
