"""Assigned schedule entries written to the connected person's Google calendar when the
connection's `write_entries` setting is on: through the outbox delivery of schedule.entry.*
events, one event per instance, patched on change, deleted on cancel / delete / unassign;
idempotent under redelivery; Google's failures retried and never failing the entry write;
SchedKit's own events not read back as foreign busy time."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from apps.calendars import services
from apps.calendars.models import BusyBlock, CalendarConnection, CalendarEventLink
from apps.calendars.tasks import entry_writes_due, write_entry, write_retry
from apps.events.models import Event
from apps.events.tasks import dispatch_event
from apps.scheduling import services as schedule
from apps.scheduling.models import ScheduleEntry
from schedkit.api.problems import Problem
from tests.calendars.factories import make_connection
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.scheduling.factories import make_location, make_person

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date.today() + timedelta(days=4)
CAL = "primary@example.test"


def at(hour, minute=0, day=DAY):
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
def member(org):
    return make_person(org, make_location(org), username="entry-writer").membership


@pytest.fixture
def writing(member, google):
    connection = make_connection(member, google=google)
    CalendarConnection.objects.filter(pk=connection.pk).update(write_entries=True)
    return connection


def create(org, member, *, start=None, end=None, **fields):
    start = start or at(10)
    return schedule.schedule_entry_create(
        actor=None,
        org=org,
        title=fields.pop("title", "Site visit"),
        start=start,
        end=end or start + timedelta(hours=1),
        timezone="Europe/Berlin",
        assignees=fields.pop("assignees", [member]),
        **fields,
    )


def start_of(event) -> datetime:
    return datetime.fromisoformat(event["start"]["dateTime"])


def test_create_inserts_update_patches_cancel_and_delete_remove(org, member, google, writing):
    entry = create(org, member, notes="Bring the ladder")
    events = google.live_events(CAL)
    assert len(events) == 1
    event = events[0]
    assert event["summary"] == "Site visit" and "Bring the ladder" in event["description"]
    assert start_of(event) == at(10) and event["transparency"] == "opaque"
    link = CalendarEventLink.objects.get(entry_id=entry.pk)
    assert link.state == "synced" and link.google_event_id == event["id"] and link.entry_ref == str(entry.pk)

    schedule.schedule_entry_update(actor=None, entry=entry, changes={"start": at(14), "end": at(15)})
    events = google.live_events(CAL)
    assert len(events) == 1 and start_of(events[0]) == at(14) and events[0]["sequence"] >= 1

    schedule.schedule_entry_update(actor=None, entry=entry, changes={"status": "cancelled"})
    assert google.live_events(CAL) == []
    schedule.schedule_entry_update(actor=None, entry=entry, changes={"status": "scheduled"})
    assert [start_of(e) for e in google.live_events(CAL)] == [at(14)]  # the same event, back

    schedule.schedule_entry_delete(actor=None, entry=entry)
    assert google.live_events(CAL) == []
    assert CalendarEventLink.objects.get(entry_id=entry.pk).state == "deleted"
    assert google.calls("/events", "POST") == 1  # one insert for the entry's whole life


def test_unassigning_the_person_removes_the_event_and_others_are_untouched(org, member, google, writing):
    other = MembershipFactory(org=org)  # not connected
    entry = create(org, member, assignees=[member, other])
    assert len(google.live_events(CAL)) == 1
    schedule.schedule_entry_update(actor=None, entry=entry, changes={"assignees": [other]})
    assert google.live_events(CAL) == []


def test_an_on_call_shift_is_written_as_free_time(org, member, google, writing):
    create(org, member, title="On call", kind="on_call", start=at(8), end=at(20))
    (event,) = google.live_events(CAL)
    assert event["transparency"] == "transparent"


def test_a_series_writes_each_instance_and_a_cancelled_one_is_removed(org, member, google, writing):
    entry = create(org, member, rrule="FREQ=DAILY;COUNT=3")
    starts = sorted(start_of(e) for e in google.live_events(CAL))
    assert starts == [at(10, day=DAY + timedelta(days=n)) for n in range(3)]
    second = at(10, day=DAY + timedelta(days=1))
    schedule.schedule_entry_delete(actor=None, entry=entry, instance_start=second, scope="single")
    assert sorted(start_of(e) for e in google.live_events(CAL)) == [at(10), at(10, day=DAY + timedelta(days=2))]
    assert google.calls("/events", "POST") == 3


def test_redelivery_never_creates_a_second_event_nor_resends_an_unchanged_one(org, member, google, writing):
    entry = create(org, member)
    writes = google.calls("/events")
    for event in Event.objects.filter(type__startswith="schedule.entry."):
        Event.objects.filter(pk=event.pk).update(dispatched_at=None)
        dispatch_event(str(event.pk))
    write_entry(str(entry.pk))
    assert len(google.live_events(CAL)) == 1
    assert google.calls("/events") == writes  # what Google has is not sent again

    # a lost reply: the event exists in Google but our link was never marked synced
    CalendarEventLink.objects.filter(entry_id=entry.pk).update(state="pending")
    assert write_entry(str(entry.pk)) == {"synced": 1}  # insert answers 409 → patched instead
    assert len(google.live_events(CAL)) == 1


def test_off_by_default_and_turning_it_on_and_off_writes_and_removes(org, member, google):
    connection = make_connection(member, google=google)
    entry = create(org, member)
    assert google.live_events(CAL) == [] and google.calls("/events") == 0

    client = key_client(member)
    url = f"/v1/calendar-connections/{connection.pk}"
    on = client.patch(url, {"write_entries": True}, format="json")
    assert on.status_code == 200 and on.json()["write_entries"] is True
    (event,) = google.live_events(CAL)  # the pass over the person's entries ran after commit
    assert event["extendedProperties"]["private"]["schedkit_entry"] == str(entry.pk)
    assert CalendarConnection.objects.get(pk=connection.pk).entries_synced_at is not None
    assert entry_writes_due() == 0  # the pass is done: not due again inside its window

    off = client.patch(url, {"write_entries": False}, format="json")
    assert off.status_code == 200
    assert google.live_events(CAL) == []


def test_google_failures_are_retried_never_fail_the_entry_and_show_on_the_page(org, member, google, writing):
    google.fail("POST", "/events", 503, 429)  # the client's own retries absorb these
    create(org, member, start=at(9))
    assert len(google.live_events(CAL)) == 1

    google.fail("POST", "/events", *[500] * 40)  # down past every retry
    entry = create(org, member, start=at(12))
    assert ScheduleEntry.objects.filter(pk=entry.pk).exists()  # the entry write stands
    link = CalendarEventLink.objects.get(entry_id=entry.pk)
    assert link.state == "failed" and link.attempts >= 1 and "500" in link.last_error
    writing.refresh_from_db()
    assert "Writing schedule entry 'Site visit' failed" in writing.last_error
    page = Client()
    page.force_login(member.user)
    content = page.get("/calendars/").content
    assert b"Writing schedule entry" in content and b'id="failed-writes"' in content
    # a later good busy refresh clears the connection's last error, not the pending write
    assert services.connection_sync(connection_id=writing.pk) == "active"
    content = page.get("/calendars/").content
    assert b"1 event not written to Google yet" in content and b"500" in content

    google.failures.clear()  # Google is back: the retry sweep finishes the write
    CalendarEventLink.objects.filter(pk=link.pk).update(updated_at=link.updated_at - timedelta(minutes=10))
    assert write_retry() == 1
    assert CalendarEventLink.objects.get(pk=link.pk).state == "synced"
    assert len(google.live_events(CAL)) == 2


def test_our_own_event_is_not_read_back_as_busy_time(org, member, google, writing):
    google.busy[CAL] = [(at(16), at(17))]  # a meeting of the person's own
    entry = create(org, member, start=at(10), end=at(11))
    assert services.connection_sync(connection_id=writing.pk) == "active"
    spans = sorted(BusyBlock.objects.filter(membership=member).values_list("start", "end"))
    assert spans == [(at(16), at(17))]  # Google's answer had 10–11 too: it is our own entry

    # so moving the entry over its old time is no clash with its own copy in Google
    moved = schedule.schedule_entry_update(actor=None, entry=entry, changes={"start": at(10, 30), "end": at(11, 30)})
    assert moved.start == at(10, 30)
    assert [start_of(e) for e in google.live_events(CAL)] == [at(10, 30)]
    # but the person's own meeting still clashes
    with pytest.raises(Problem) as clash:
        create(org, member, start=at(16, 30), end=at(17, 30), title="Clash")
    assert clash.value.code == "SCHEDULE_CONFLICT"


def test_a_series_across_the_dst_change_keeps_its_local_time_in_google(org, member, google, writing, settings):
    settings.GOOGLE_BUSY_HORIZON_DAYS = 400
    today = date.today()
    year = today.year + (1 if today >= date(today.year, 3, 20) else 0)
    last = date(year, 3, 31)
    spring_forward = last - timedelta(days=(last.weekday() + 1) % 7)  # Berlin: UTC+1 → UTC+2
    eve = spring_forward - timedelta(days=1)
    create(org, member, start=at(10, day=eve), rrule="FREQ=DAILY;COUNT=2")
    starts = sorted(start_of(e) for e in google.live_events(CAL))
    assert starts == [at(10, day=eve), at(10, day=spring_forward)]
    assert [s.astimezone(ZoneInfo("UTC")).hour for s in starts] == [9, 8]
