"""Busy time from a connected Google calendar reaches everyone who asks the time model who is
free: dispatch ranking and offers skip the person, and team booking routes away from them.
The busy time comes from the fake Google through a real sync (no rows written by hand)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.calendars import services
from apps.dispatch import services as dispatch
from apps.orgs.models import TeamMember
from tests.bookings.factories import make_event_type
from tests.calendars.factories import make_connection
from tests.dispatch.factories import BASE, make_responder
from tests.factories import TeamFactory
from tests.incidents.factories import make_incident
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date.today() + timedelta(days=5)
CAL = "primary@example.test"


def _busy_now(google, person, *, minutes_before=30, minutes_after=30):
    now = timezone.now()
    connection = make_connection(person.membership, google=google)
    google.busy[CAL] = [(now - timedelta(minutes=minutes_before), now + timedelta(minutes=minutes_after))]
    assert services.connection_sync(connection_id=connection.pk) == "active"
    return connection


def test_dispatch_ranking_and_offer_skip_a_person_busy_in_google(org, google):
    nearer = make_responder(org, at=(BASE[0] + 1 / 111.2, BASE[1]))  # 1 km: would win on travel
    farther = make_responder(org, at=(BASE[0] + 5 / 111.2, BASE[1]))
    incident = make_incident(org, lat=BASE[0], lng=BASE[1])
    _policy, ranked = dispatch.dispatch_rank(actor=None, incident=incident)
    assert [c.person.pk for c in ranked] == [nearer.pk, farther.pk]

    _busy_now(google, nearer)
    calls = len(google.requests)
    _policy, ranked = dispatch.dispatch_rank(actor=None, incident=incident)
    by_person = {c.person.pk: c for c in ranked}
    assert by_person[nearer.pk].excluded == ["busy"]
    assert by_person[farther.pk].eligible

    run, _ranked = dispatch.dispatch_start(actor=None, incident=incident)
    assert [a.person_id for a in run.assignments.all()] == [farther.pk]
    assert len(google.requests) == calls  # ranking and offering read the cache, never Google


def test_busy_in_google_later_today_does_not_block_dispatch_now(org, google):
    responder = make_responder(org)
    now = timezone.now()
    connection = make_connection(responder.membership, google=google)
    google.busy[CAL] = [(now + timedelta(hours=2), now + timedelta(hours=3))]
    services.connection_sync(connection_id=connection.pk)
    _policy, ranked = dispatch.dispatch_rank(actor=None, incident=make_incident(org, lat=BASE[0], lng=BASE[1]))
    assert ranked[0].eligible


def test_a_revoked_grant_stops_blocking_dispatch(org, google):
    responder = make_responder(org)
    connection = _busy_now(google, responder)
    google.revoke_all()
    assert services.connection_sync(connection_id=connection.pk) == "needs_reconsent"
    _policy, ranked = dispatch.dispatch_rank(actor=None, incident=make_incident(org, lat=BASE[0], lng=BASE[1]))
    assert ranked[0].eligible


def _team(org, size):
    location = make_location(org, tz="Europe/Berlin")
    team = TeamFactory(org=org, slug="crew")
    people = []
    for n in range(size):
        person = make_person(org, location, username=f"crew-{n}")
        make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=30)
        TeamMember.objects.create(org=org, team=team, membership=person.membership)
        people.append(person)
    make_event_type(org, team=team, slug="triage", booking_window_days=60)
    return team, people


def _team_slots(org) -> dict[str, int]:
    response = APIClient().get(f"/v1/slots/{org.slug}/crew/triage?date={DAY.isoformat()}")
    assert response.status_code == 200, response.content
    return {
        datetime.fromisoformat(s["start"]).astimezone(BERLIN).strftime("%H:%M"): s["seats_left"]
        for s in response.json()["slots"]
    }


def _book(org, start, key):
    body = {"start_time": start.isoformat(), "attendee_name": key, "attendee_email": f"{key}@example.test"}
    return APIClient().post(f"/v1/book/{org.slug}/crew/triage", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_team_slots_and_routing_go_around_a_member_busy_in_google(org, google):
    _team_obj, (busy, free) = _team(org, 2)
    before = _team_slots(org)
    assert before["09:00"] == 2 and before["11:30"] == 2

    connection = make_connection(busy.membership, google=google)
    nine = datetime.combine(DAY, time(9), tzinfo=BERLIN)
    google.busy[CAL] = [(nine, nine + timedelta(hours=1))]  # 09:00–10:00 Berlin
    assert services.connection_sync(connection_id=connection.pk) == "active"
    reads = google.calls("freeBusy") + google.calls("calendarList")

    after = _team_slots(org)
    assert after["09:00"] == after["09:30"] == 1  # only the free member is left at those times
    assert after["10:00"] == after["11:30"] == 2

    first = _book(org, nine, "a")
    assert first.status_code == 201, first.content
    assert first.json()["person_id"] == str(free.pk)  # routed away from the busy member
    second = _book(org, nine, "b")
    assert second.status_code == 409, second.content  # nobody left: the busy member is not used
    assert "09:00" not in _team_slots(org)
    ten = _book(org, nine + timedelta(hours=1), "c")
    assert ten.status_code == 201  # outside Google's busy time both are bookable again
    # slot reads and routing never asked Google (a booking of the connected member is written)
    assert google.calls("freeBusy") + google.calls("calendarList") == reads
