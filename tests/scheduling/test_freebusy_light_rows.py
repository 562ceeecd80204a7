"""The free/busy query reads entries as light rows (only the asked-for people's assignments,
instants as epoch seconds, no instances): the cases that path must keep — an occurrence
moved to someone who is not on the series, a cancelled one, excluded refs, and writes seen
by the very next call — each against what `recurrence.expand` says of the same master."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.scheduling import freebusy, recurrence, services
from apps.scheduling.models import ScheduleEntry, ScheduleOverride
from tests.scheduling.factories import make_location, make_person

pytestmark = pytest.mark.django_db

MONDAY = datetime(2027, 3, 1, tzinfo=UTC)
WEEK = (MONDAY, MONDAY + timedelta(days=7))


@pytest.fixture
def pair(org):
    location = make_location(org)
    return make_person(org, location), make_person(org, location)


def _daily(org, person, *, hour=9, rrule="FREQ=DAILY"):
    first = MONDAY - timedelta(days=20) + timedelta(hours=hour)
    return services.schedule_entry_create(
        actor=None,
        org=org,
        title="stand-up",
        start=first,
        end=first + timedelta(minutes=30),
        timezone="Europe/Berlin",
        rrule=rrule,
        assignees=[person.membership],
        force=True,
    )


def _refs(times, person):
    return sorted((i.ref, i.start, i.end, i.title, i.status, i.parent) for i in times[person.pk].busy)


def _expanded(entry, membership):
    """The same busy time, from the full expansion of the model instances."""
    overrides = list(ScheduleOverride.objects.filter(master=entry).prefetch_related("assignees"))
    found = []
    for inst in recurrence.expand(entry, overrides, *WEEK):
        if inst.status == "cancelled" or membership.pk not in {a.pk for a in inst.assignees}:
            continue
        found.append((inst.id, inst.start, inst.end, inst.title, inst.status, str(entry.pk)))
    return sorted(found)


def test_an_occurrence_moved_to_someone_off_the_series_is_theirs_only(org, pair):
    alice, bob = pair
    entry = _daily(org, alice)
    original = MONDAY + timedelta(days=2, hours=9)
    override = ScheduleOverride.objects.create(
        org=org, master=entry, original_start=original, start=original + timedelta(hours=3),
        end=original + timedelta(hours=3, minutes=30), title="covered",
    )  # fmt: skip
    override.assignees.set([bob.membership])
    times = freebusy.free_busy(org=org, start=WEEK[0], end=WEEK[1], people=[alice, bob])
    assert _refs(times, alice) == _expanded(entry, alice.membership)
    assert _refs(times, bob) == _expanded(entry, bob.membership)
    assert [i.title for i in times[bob.pk].busy] == ["covered"]
    assert len(times[alice.pk].busy) == 6  # seven days less the moved one
    # asked for bob alone, the series still comes (through the override) and only his part
    alone = freebusy.free_busy(org=org, start=WEEK[0], end=WEEK[1], people=[bob])
    assert _refs(alone, bob) == _expanded(entry, bob.membership)


def test_cancelled_and_excluded_occurrences_are_left_out(org, pair):
    alice, _bob = pair
    entry = _daily(org, alice)
    cancelled = MONDAY + timedelta(days=1, hours=9)
    ScheduleOverride.objects.create(org=org, master=entry, original_start=cancelled, cancelled=True)
    times = freebusy.free_busy(org=org, start=WEEK[0], end=WEEK[1], people=[alice])
    assert _refs(times, alice) == _expanded(entry, alice.membership)
    assert len(times[alice.pk].busy) == 6
    dropped = recurrence.instance_id(entry.pk, MONDAY + timedelta(days=3, hours=9))
    times = freebusy.free_busy(org=org, start=WEEK[0], end=WEEK[1], people=[alice], exclude_refs=[dropped])
    assert dropped not in {i.ref for i in times[alice.pk].busy} and len(times[alice.pk].busy) == 5
    times = freebusy.free_busy(org=org, start=WEEK[0], end=WEEK[1], people=[alice], exclude_refs=[entry.pk])
    assert times[alice.pk].busy == []


def test_every_write_is_seen_by_the_next_call(org, pair):
    alice, bob = pair
    entry = _daily(org, alice, rrule="FREQ=WEEKLY;BYDAY=MO,WE")

    def busy(person):
        return freebusy.free_busy(org=org, start=WEEK[0], end=WEEK[1], people=[alice, bob])[person.pk].busy

    assert len(busy(alice)) == 2 and busy(bob) == []
    entry.assignees.add(bob.membership)
    assert len(busy(bob)) == 2
    ScheduleEntry.objects.filter(pk=entry.pk).update(rrule="FREQ=DAILY", title="daily now")
    assert len(busy(alice)) == 7 and {i.title for i in busy(bob)} == {"daily now"}
    ScheduleEntry.objects.filter(pk=entry.pk).update(status="cancelled")
    assert busy(alice) == [] and busy(bob) == []
