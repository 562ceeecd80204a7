"""Team routing fairness, host-slot query counts that do not grow with the team or the
bookings, and month ranges (?start=&end=, at most 31 days) for person and team slots."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.bookings.models import Booking
from apps.orgs.models import Membership, TeamMember
from apps.scheduling import time_version
from apps.scheduling.models import Person
from tests.bookings.factories import make_event_type
from tests.factories import TeamFactory
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db(transaction=True)
UTC = ZoneInfo("UTC")
DAY = date.today() + timedelta(days=3)


@pytest.fixture(autouse=True)
def _no_booking_rate_limit(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "booking": "100000/min", "anon": "100000/min"}


def make_team(org, size, *, slug="crew", location=None, start=time(9), end=time(17)):
    location = location or make_location(org, tz="UTC")
    team = TeamFactory(org=org, slug=slug)
    people = []
    for n in range(size):
        person = make_person(org, location, username=f"{slug}-{n}")
        make_rule(location, person, start_time=start, end_time=end, slot_granularity_minutes=30)
        TeamMember.objects.create(org=org, team=team, membership=person.membership)
        people.append(person)
    return team, people


def book(client, path, start, key):
    body = {"start_time": start.isoformat(), "attendee_name": key, "attendee_email": f"{key}@example.test"}
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def starts_of(response) -> list[datetime]:
    assert response.status_code == 200, response.content
    return [datetime.fromisoformat(s["start"]) for s in response.json()["slots"]]


# --- round-robin fairness -------------------------------------------------------------------


@pytest.mark.parametrize("inactive", ["team_member", "person", "membership"])
def test_round_robin_is_fair_over_100_bookings(org, inactive):
    team, people = make_team(org, 5, start=time(8), end=time(18))
    left_out = people[-1]
    if inactive == "team_member":
        TeamMember.objects.filter(membership=left_out.membership).update(active=False)
    elif inactive == "person":
        Person.objects.filter(pk=left_out.pk).update(active=False)
    else:
        Membership.objects.filter(pk=left_out.membership_id).update(active=False)
    make_event_type(org, team=team, slug="triage", booking_window_days=60)
    client = APIClient()
    path = f"/v1/book/{org.slug}/crew/triage"
    # 100 bookings: sometimes one per time, sometimes up to four at the same time (then the
    # members already taken at that time are skipped), over several days.
    pattern = [1, 3, 2, 4, 1, 1, 2, 3, 4, 1]
    hosts, n, start = [], 0, datetime.combine(DAY, time(8), tzinfo=UTC)
    while n < 100:
        for _ in range(min(pattern[len(hosts) % len(pattern)], 100 - n)):
            response = book(client, path, start, key=f"b{n}")
            assert response.status_code == 201, response.content
            hosts.append(response.json()["person_id"])
            n += 1
        start += timedelta(minutes=30)
        if start.hour >= 17:
            start = datetime.combine(start.date() + timedelta(days=1), time(8), tzinfo=UTC)
    counts = Counter(hosts)
    assert str(left_out.pk) not in counts
    assert sorted(counts) == sorted(str(p.pk) for p in people[:4])
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert Booking.objects.filter(event_type__team=team, status="confirmed").count() == 100
    # Never two bookings of one member at the same time.
    assert Booking.objects.values("person_id", "start_at").distinct().count() == 100


# --- query counts ---------------------------------------------------------------------------


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.content
    assert response.json()["slots"], "the measurement needs slots to compute"
    return len(ctx.captured_queries)


def _seed_bookings(event_type, people, count):
    rows = []
    for i in range(count):
        person = people[i % len(people)]
        start = datetime.combine(DAY + timedelta(days=i % 20), time(9), tzinfo=UTC) + timedelta(
            minutes=30 * ((i // 20) % 14)
        )
        rows.append(
            Booking(
                org=event_type.org,
                event_type=event_type,
                person=person,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                seat_group=f"et:{event_type.pk}:{start.isoformat()}",
                status="confirmed",
                attendee_name=f"g{i}",
            )
        )
    Booking.objects.bulk_create(rows)
    time_version.bump(event_type.org_id)  # a bulk write bypasses the receivers: it bumps itself


def test_team_slot_queries_do_not_grow_with_team_size(org, make_org):
    small_team, _ = make_team(org, 2, slug="small")
    make_event_type(org, team=small_team, slug="chat")
    big_team, _ = make_team(org, 10, slug="big")
    make_event_type(org, team=big_team, slug="chat")
    client = APIClient()
    for query in (f"date={DAY}", f"start={DAY}&end={DAY + timedelta(days=30)}"):
        small = _queries(client, f"/v1/slots/{org.slug}/small/chat?{query}")
        big = _queries(client, f"/v1/slots/{org.slug}/big/chat?{query}")
        assert small == big <= 6, (
            query,
            small,
            big,
        )  # + one query per busy source


def test_team_slot_queries_do_not_grow_with_bookings(org):
    team, people = make_team(org, 4)
    event_type = make_event_type(org, team=team, slug="chat", capacity=1000)
    client = APIClient()
    path = f"/v1/slots/{org.slug}/crew/chat?start={DAY}&end={DAY + timedelta(days=30)}"
    _seed_bookings(event_type, people, 10)
    few = _queries(client, path)
    _seed_bookings(event_type, people, 190)
    many = _queries(client, path)
    assert few == many <= 6  # + one query per busy source


def test_person_month_queries_do_not_grow_with_bookings(org):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="solo")
    make_rule(location, person, start_time=time(9), end_time=time(17))
    event_type = make_event_type(org, person, slug="chat", capacity=1000)
    client = APIClient()
    path = f"/v1/slots/solo/chat?start={DAY}&end={DAY + timedelta(days=30)}"
    _seed_bookings(event_type, [person], 10)
    few = _queries(client, path)
    _seed_bookings(event_type, [person], 1990)
    many = _queries(client, path)
    day = _queries(client, f"/v1/slots/solo/chat?date={DAY}")
    assert few == many == day <= 5  # + one query per busy source


# --- month ranges ---------------------------------------------------------------------------


@pytest.fixture
def host(org):
    location = make_location(org, tz="Europe/Berlin")
    person = make_person(org, location, username="ranger")
    make_rule(location, person, start_time=time(9), end_time=time(12), slot_granularity_minutes=60)
    return person


def test_a_range_is_the_days_put_together(org, host):
    make_event_type(org, host, slug="intro", duration_minutes=60, per_day_limit=2)
    client = APIClient()
    assert book(client, "/v1/book/ranger/intro", datetime.combine(DAY, time(9), ZoneInfo("Europe/Berlin")), "a")
    last = DAY + timedelta(days=30)
    body = client.get(f"/v1/slots/ranger/intro?start={DAY}&end={last}").json()
    assert body["start"] == DAY.isoformat() and body["end"] == last.isoformat() and "date" not in body
    assert body["timezone"] == "Europe/Berlin"
    days = []
    for n in range(31):
        days += starts_of(client.get(f"/v1/slots/ranger/intro?date={DAY + timedelta(days=n)}"))
    month = [datetime.fromisoformat(s["start"]) for s in body["slots"]]
    assert month == days and len(month) == 31 * 3 - 1  # 09:00 booked on the first day
    # In another zone, too (the range is of dates in that zone).
    tokyo = starts_of(client.get(f"/v1/slots/ranger/intro?start={DAY}&end={last}&timezone=Asia/Tokyo"))
    by_day = []
    for n in range(31):
        by_day += starts_of(client.get(f"/v1/slots/ranger/intro?date={DAY + timedelta(days=n)}&timezone=Asia/Tokyo"))
    assert tokyo == by_day


def test_a_team_range_is_the_days_put_together(org):
    make_team(org, 3)
    team = TeamMember.objects.first().team
    make_event_type(org, team=team, slug="chat")
    client = APIClient()
    assert book(client, f"/v1/book/{org.slug}/crew/chat", datetime.combine(DAY, time(9), UTC), "a").status_code == 201
    path = f"/v1/slots/{org.slug}/crew/chat"
    month = client.get(f"{path}?start={DAY}&end={DAY + timedelta(days=6)}").json()["slots"]
    days = []
    for n in range(7):
        days += client.get(f"{path}?date={DAY + timedelta(days=n)}").json()["slots"]
    assert month == days
    assert month[0]["seats_left"] == 2 and month[1]["seats_left"] == 3


@pytest.mark.parametrize(
    "query",
    [
        "start={d}&end={d+31}",  # 32 days
        "start={d}&end={d-1}",
        "start={d}",
        "end={d}",
        "date={d}&start={d}&end={d}",
        "start=2030-02-30&end=2030-03-01",
        "start=tomorrow&end={d}",
        "date=9999-12-31",
        "date=0001-01-01",
        "start=9999-12-01&end=9999-12-31",
        "",
    ],
)
def test_bad_ranges_are_400(org, host, query):
    make_event_type(org, host, slug="intro")
    make_team(org, 1)
    make_event_type(org, team=TeamMember.objects.first().team, slug="chat")
    query = query.replace("{d+31}", str(DAY + timedelta(days=31))).replace("{d-1}", str(DAY - timedelta(days=1)))
    query = query.replace("{d}", str(DAY))
    for path in ("/v1/slots/ranger/intro", f"/v1/slots/{org.slug}/crew/chat"):
        response = APIClient().get(f"{path}?{query}")
        assert response.status_code == 400, (path, query, response.content)
        assert response.json()["code"] == "VALIDATION_ERROR"


def test_31_days_is_the_limit(org, host):
    make_event_type(org, host, slug="intro")
    response = APIClient().get(f"/v1/slots/ranger/intro?start={DAY}&end={DAY + timedelta(days=30)}")
    assert response.status_code == 200


def test_host_days_far_from_the_viewers_zone(org):
    """A host at UTC+14 seen from UTC-12: the viewer's day spans two host days, one of them
    two host days ahead; every start inside the viewer's day is listed."""
    location = make_location(org, tz="Pacific/Kiritimati")
    person = make_person(org, location, username="islander")
    make_rule(location, person, start_time=time(0), end_time=time(23), slot_granularity_minutes=60)
    make_event_type(org, person, slug="intro", duration_minutes=60)
    far_west = ZoneInfo("Etc/GMT+12")
    starts = starts_of(APIClient().get(f"/v1/slots/islander/intro?date={DAY}&timezone=Etc/GMT%2B12"))
    local_hours = sorted(s.astimezone(far_west).hour for s in starts)
    # Host hours 00:00–22:00 each day, i.e. viewer hours 22:00 … 20:00 the day before: the
    # viewer's day misses only the host's 23:00 hour (viewer 21:00).
    assert local_hours == [h for h in range(24) if h != 21]
    assert all(s.astimezone(far_west).date() == DAY for s in starts)
