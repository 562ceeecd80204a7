"""Google busy time blocks host slots: cached by the sync job (freebusy.query), read by the
time model's busy source, never fetched during a slot request; a revoked grant stops
blocking, warns the user, and never fails a slot query."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.calendars import services
from apps.calendars.models import BusyBlock, CalendarConnection
from apps.calendars.tasks import busy_refresh_due
from tests.bookings.factories import make_event_type
from tests.calendars.factories import make_connection
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date.today() + timedelta(days=5)


def _next_spring_forward() -> date:
    """The next last Sunday of March: Berlin moves from UTC+1 to UTC+2 that night."""
    year = date.today().year + (1 if date.today() >= date(date.today().year, 3, 20) else 0)
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="cal-host")
    make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=30)
    make_event_type(org, person, slug="intro", booking_window_days=365)
    return person


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def slot_times(day) -> set[str]:
    response = APIClient().get(f"/v1/slots/cal-host/intro?date={day.isoformat()}")
    assert response.status_code == 200, response.content
    return {datetime.fromisoformat(s["start"]).astimezone(BERLIN).strftime("%H:%M") for s in response.json()["slots"]}


@pytest.mark.parametrize("day", [DAY, _next_spring_forward()], ids=["plain-day", "dst-day"])
def test_google_busy_time_removes_the_right_host_slots(org, host, google, settings, day):
    settings.GOOGLE_BUSY_HORIZON_DAYS = 400
    before = slot_times(day)
    assert {"09:00", "10:00", "10:30", "11:00", "11:30"} <= before
    connection = make_connection(host.membership, google=google)
    google.busy["primary@example.test"] = [(at(day, 10), at(day, 11))]  # 10:00–11:00 Berlin, either offset
    google.busy["team@example.test"] = [(at(day, 9), at(day, 12))]  # not checked: does not block
    assert services.connection_sync(connection_id=connection.pk) == "active"
    assert BusyBlock.objects.filter(calendar__connection=connection).count() == 1
    calls = len(google.requests)
    after = slot_times(day)
    assert after == before - {"10:00", "10:30"}, sorted(after)
    assert len(google.requests) == calls  # the slot request never reached Google

    # unchecking the calendar stops it blocking at once
    services.connection_update(
        actor=None, connection=connection, calendars=[{"calendar_id": "primary@example.test", "check_conflicts": False}]
    )
    assert slot_times(day) == before


def test_refresh_job_picks_stale_connections_and_replaces_the_cache(org, host, google):
    connection = make_connection(host.membership, google=google)
    google.busy["primary@example.test"] = [(at(DAY, 9), at(DAY, 10))]
    assert busy_refresh_due() == 1  # never synced: due (tasks run inline)
    connection.refresh_from_db()
    assert connection.last_sync_at is not None
    assert "09:00" not in slot_times(DAY) and "09:30" not in slot_times(DAY)
    assert busy_refresh_due() == 0  # fresh: not due again inside the refresh window

    google.busy["primary@example.test"] = [(at(DAY, 11), at(DAY, 11, 30))]  # moved in Google
    CalendarConnection.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now() - timedelta(hours=1))
    assert busy_refresh_due() == 1
    times = slot_times(DAY)
    assert "09:00" in times and "11:00" not in times


def test_revoked_grant_marks_reconsent_stops_blocking_and_warns(org, host, google):
    connection = make_connection(host.membership, google=google)
    google.busy["primary@example.test"] = [(at(DAY, 9), at(DAY, 12))]
    services.connection_sync(connection_id=connection.pk)
    assert slot_times(DAY) == set()

    google.revoke_all()  # the user removed SchedKit's access in their Google account
    assert services.connection_sync(connection_id=connection.pk) == "needs_reconsent"
    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.NEEDS_RECONSENT and "reconnect" in connection.last_error
    assert "09:00" in slot_times(DAY)  # its busy time no longer blocks, the query still answers

    client = Client()
    client.force_login(host.membership.user)
    page = client.get("/calendars/")
    assert page.status_code == 200 and b'id="reconsent-warning"' in page.content and b"Reconnect" in page.content


def test_transient_google_errors_are_retried_by_the_client(org, host, google):
    connection = make_connection(host.membership, google=google)
    google.busy["primary@example.test"] = [(at(DAY, 9), at(DAY, 10))]
    google.fail("POST", "freeBusy", 503, 429)
    assert services.connection_sync(connection_id=connection.pk) == "active"
    assert google.calls("freeBusy") == 3
    assert BusyBlock.objects.filter(membership=host.membership).exists()


def test_busy_outside_the_horizon_is_not_cached(org, host, google):
    connection = make_connection(host.membership, google=google)
    google.busy["primary@example.test"] = [(datetime(2030, 1, 1, 8, tzinfo=UTC), datetime(2030, 1, 1, 9, tzinfo=UTC))]
    services.connection_sync(connection_id=connection.pk)
    assert not BusyBlock.objects.exists()  # outside the horizon: not cached
