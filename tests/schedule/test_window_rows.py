"""The computed month view (light masters + per-master encoded rows) against the generic
rendering (schedule_instances() + render_instance() per instance, orjson-encoded), and the
per-master rows seeing every change at once."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from apps.orgs.models import Role, Team, TeamMember
from apps.scheduling import selectors
from apps.scheduling.api.entry_serializers import INSTANCE_FIELDS, render_instance, render_window
from apps.scheduling.models import ScheduleEntry, ScheduleOverride
from tests.factories import MembershipFactory, actor_for
from tests.schedule.factories import make_entry

pytestmark = pytest.mark.django_db(transaction=True)

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


def _reference(actor, start, end, fields=None, assignee=None, team=None) -> bytes:
    rows = [
        render_instance(i)
        for i in selectors.schedule_instances(fetched_by=actor, start=start, end=end, assignee=assignee, team=team)
    ]
    if fields is not None:
        rows = [{name: row[name] for name in fields} for row in rows]
    return orjson.dumps(rows)


def _computed(actor, start, end, fields=None, assignee=None, team=None) -> bytes:
    masters, people = selectors.window_masters(fetched_by=actor, start=start, end=end, assignee=assignee, team=team)
    count, encoded = render_window(masters, start, end, fields, people)
    assert count == len(orjson.loads(encoded))
    return encoded


@pytest.fixture
def calendar(org, scheduler):
    """Series of several rules and zones, single entries, private ones, cancelled and moved
    occurrences, overrides with their own assignees, an on-call kind, notes and incidents."""
    people = [MembershipFactory(org=org) for _ in range(4)]
    rules = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=MONTHLY;BYDAY=1MO", "FREQ=DAILY;COUNT=40", ""]
    zones = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"]
    entries = []
    for i in range(20):
        start = datetime(2026, 2, 2, 7, 0, tzinfo=UTC) + timedelta(days=i % 5, hours=i % 7)
        if not rules[i % 5]:
            start = datetime(2026, 3, 3, 7, 0, tzinfo=UTC) + timedelta(days=i, hours=i % 7)
        entries.append(
            make_entry(
                org,
                title=f"E{i}",
                notes="ladder" if i % 3 == 0 else "",
                start=start,
                end=start + timedelta(minutes=30 + 15 * (i % 3)),
                rrule=rules[i % 5],
                timezone=zones[i % 4],
                assignees=[people[i % 4], *([people[(i + 1) % 4]] if i % 2 else [])],
                private=i % 6 == 0,
                kind="on_call" if i % 7 == 0 else "work",
                work_item_ref=f"T-{i}" if i % 4 == 0 else "",
            )
        )
    for i, entry in enumerate(entries):
        if not entry.rrule or i % 2:
            continue
        first = selectors.schedule_instances(
            fetched_by=actor_for(scheduler), start=datetime(2026, 3, 9, tzinfo=UTC), end=END
        )
        originals = [x.original_start for x in first if x.master.pk == entry.pk][:2]
        if len(originals) < 2:
            continue
        ScheduleOverride.objects.create(org=org, master=entry, original_start=originals[0], cancelled=True)
        moved = ScheduleOverride.objects.create(
            org=org,
            master=entry,
            original_start=originals[1],
            start=originals[1] + timedelta(hours=2),
            end=originals[1] + timedelta(hours=3),
            title="Moved" if i % 4 else "",
            status="cancelled" if i % 8 == 0 else "",
        )
        moved.assignees.set([people[(i + 2) % 4]])
    return entries, people


def test_the_computed_window_is_the_generic_rendering(org, scheduler, calendar):
    _entries, people = calendar
    actor = actor_for(scheduler)
    assert len(orjson.loads(_reference(actor, START, END))) > 200
    for _ in range(2):  # rendered, then from the per-master rows
        assert _computed(actor, START, END) == _reference(actor, START, END)
        narrow = ("id", "start", "assignees", "kind")
        narrow = tuple(name for name in INSTANCE_FIELDS if name in narrow)
        assert _computed(actor, START, END, fields=narrow) == _reference(actor, START, END, fields=narrow)
        someone = people[2].pk
        assert _computed(actor, START, END, assignee=someone) == _reference(actor, START, END, assignee=someone)
        team = Team.objects.create(org=org, slug="north", name="North")
        TeamMember.objects.create(org=org, team=team, membership=people[1])
        assert _computed(actor, START, END, team=team) == _reference(actor, START, END, team=team)
        team.delete()
    member = actor_for(MembershipFactory(org=org, role=Role.MEMBER))
    assert _computed(member, START, END) == _reference(member, START, END)
    assert _computed(actor, START, START + timedelta(days=2)) == _reference(actor, START, START + timedelta(days=2))


def test_the_per_master_rows_see_every_change(org, scheduler, calendar):
    entries, people = calendar
    actor = actor_for(scheduler)
    _computed(actor, START, END)  # every master's rows kept

    def same():
        return _computed(actor, START, END) == _reference(actor, START, END)

    entries[1].title = "Renamed"
    entries[1].save()
    assert same() and b"Renamed" in _computed(actor, START, END)
    ScheduleEntry.objects.filter(pk=entries[2].pk).update(notes="changed without a signal")
    assert same() and b"changed without a signal" in _computed(actor, START, END)
    override = ScheduleOverride.objects.exclude(title="").first()
    override.title = "Moved again"
    override.save()
    assert same() and b"Moved again" in _computed(actor, START, END)
    override.assignees.add(people[3])
    assert same()
    people[0].user.name = "New Name"
    people[0].user.save()
    assert same() and b"New Name" in _computed(actor, START, END)
    entries[3].assignees.remove(people[3 % 4])
    assert same()
    ScheduleOverride.objects.create(
        org=org, master=entries[1], original_start=datetime(2026, 3, 17, 7, 0, tzinfo=UTC), cancelled=True
    )
    assert same()
    entries[4].delete()
    assert same()
