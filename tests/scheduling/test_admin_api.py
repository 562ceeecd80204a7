"""Admin API for locations, people, availability rules and slot generation (SPEC §6.1)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.orgs.models import Role
from apps.scheduling.availability import expand_day
from apps.scheduling.models import AvailabilityRule, SlotInstance
from apps.scheduling.tasks import slots_generate_task
from tests.bookings.factories import make_booking
from tests.conftest import key_client
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


@pytest.fixture
def admin(org, make_member):
    return key_client(make_member(org, Role.ADMIN))


def test_location_and_person_crud(org, admin, make_member):
    response = admin.post("/admin/v1/locations", {"name": "HQ", "timezone": "America/New_York"}, format="json")
    assert response.status_code == 201, response.content
    location_id = response.json()["id"]
    member = make_member(org, Role.MEMBER)
    response = admin.post(
        "/admin/v1/people", {"membership_id": str(member.pk), "location_id": location_id}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["location_id"] == location_id
    assert admin.post("/admin/v1/people", {"membership_id": str(member.pk)}, format="json").status_code == 409
    assert admin.get("/admin/v1/people").json()["results"][0]["username"] == member.user.username
    response = admin.patch(f"/admin/v1/locations/{location_id}", {"name": "Head office"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Head office"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "timezone": "Mars/Olympus"},
        {"name": "X", "lat": 95, "lng": 0},
        {"name": "X", "colour": "red"},
        {},
    ],
)
def test_bad_location_input_is_400(admin, body):
    response = admin.post("/admin/v1/locations", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "VALIDATION_ERROR"


def _rule(location_id, **fields):
    return {"location_id": str(location_id), "rule_kind": "WEEKLY", "days_of_week": [1, 2, 3], **fields}


def test_overlapping_rules_are_rejected(org, admin):
    location = make_location(org)
    ok = admin.post("/admin/v1/availabilities", _rule(location.pk, start_time="09:00", end_time="12:00"), format="json")
    assert ok.status_code == 201, ok.content
    clash = admin.post(
        "/admin/v1/availabilities",
        _rule(location.pk, days_of_week=[3, 4], start_time="11:00", end_time="13:00"),
        format="json",
    )
    assert clash.status_code == 400 and clash.json()["code"] == "RULE_OVERLAP"
    assert clash.json()["conflicting_rule_id"] == ok.json()["id"]
    # Touching windows, other days, or another layer (an EXCEPTION) do not overlap.
    for body in (
        _rule(location.pk, start_time="12:00", end_time="17:00"),
        _rule(location.pk, days_of_week=[4, 5], start_time="09:00", end_time="12:00"),
        {
            **_rule(location.pk, start_time="10:00", end_time="11:00"),
            "rule_kind": "EXCEPTION",
            "valid_from": "2026-12-01",
            "is_closed": True,
        },
    ):
        response = admin.post("/admin/v1/availabilities", body, format="json")
        assert response.status_code == 201, response.content
    assert AvailabilityRule.objects.filter(location=location).count() == 4


@pytest.mark.parametrize(
    "body",
    [
        {"rule_kind": "WEEKLY", "days_of_week": [], "start_time": "09:00", "end_time": "10:00"},
        {"rule_kind": "WEEKLY", "days_of_week": [8], "start_time": "09:00", "end_time": "10:00"},
        {"rule_kind": "WEEKLY", "days_of_week": [1], "start_time": "10:00", "end_time": "09:00"},
        {"rule_kind": "DATE_RANGE", "start_time": "09:00", "end_time": "10:00"},
        {"rule_kind": "MONTHLY", "days_of_week": [1], "start_time": "09:00", "end_time": "10:00"},
        {"rule_kind": "WEEKLY", "days_of_week": [1], "start_time": "09:00", "end_time": "10:00", "is_closed": True},
        {"rule_kind": "WEEKLY", "days_of_week": [1], "start_time": "9am", "end_time": "10:00"},
    ],
)
def test_bad_rules_are_400(org, admin, body):
    location = make_location(org)
    response = admin.post("/admin/v1/availabilities", {"location_id": str(location.pk), **body}, format="json")
    assert response.status_code == 400, response.content


def _generate(client, location, start, end, **extra):
    return client.post(
        "/admin/v1/slots/generate",
        {"location_id": str(location.pk), "date_from": start, "date_to": end, **extra},
        format="json",
    )


def test_slot_generation_is_idempotent_and_keeps_booked_slots(org, admin):
    location = make_location(org, tz="UTC")
    future = date.today() + timedelta(days=7)
    rule = make_rule(
        location, start_time=time(9), end_time=time(11), slot_duration_minutes=30, slot_granularity_minutes=30
    )
    first = _generate(admin, location, str(future), str(future + timedelta(days=1)))
    assert first.status_code == 200 and first.json()["created"] == 8
    again = _generate(admin, location, str(future), str(future + timedelta(days=1)))
    assert again.json() == {"created": 0, "removed": 0, "kept_booked": 0}
    assert SlotInstance.objects.filter(location=location).count() == 8
    booked = SlotInstance.objects.filter(location=location).order_by("start_at").first()
    make_booking(booked)
    rule.delete()  # the rules no longer produce any slot
    result = _generate(admin, location, str(future), str(future + timedelta(days=1))).json()
    assert result == {"created": 0, "removed": 7, "kept_booked": 1}
    assert list(SlotInstance.objects.filter(location=location)) == [booked]


def test_exceptions_and_date_ranges_layer_over_weekly(org):
    location = make_location(org, tz="UTC")
    make_rule(location, start_time=time(9), end_time=time(12), slot_duration_minutes=60, slot_granularity_minutes=60)
    day = date(2030, 1, 7)
    make_rule(
        location,
        rule_kind="EXCEPTION",
        days_of_week=[],
        valid_from=day,
        start_time=time(10),
        end_time=time(11),
        is_closed=True,
    )
    other = day + timedelta(days=1)
    make_rule(
        location,
        rule_kind="DATE_RANGE",
        days_of_week=[],
        valid_from=other,
        valid_to=other,
        start_time=time(14),
        end_time=time(16),
        slot_duration_minutes=60,
        slot_granularity_minutes=60,
    )
    rules = list(AvailabilityRule.objects.filter(location=location))
    hours = lambda d: [s[0].hour for s in expand_day(rules, d, UTC)]  # noqa: E731
    assert hours(day) == [9, 11]
    assert hours(other) == [14, 15]
    assert hours(day + timedelta(days=2)) == [9, 10, 11]


@pytest.mark.parametrize(
    ("tz", "dst_day", "plain_day", "dst_first_utc", "plain_first_utc"),
    [
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 3, 28), 7, 8),
        ("Europe/Berlin", date(2026, 10, 25), date(2026, 10, 24), 8, 7),
        ("America/New_York", date(2026, 3, 8), date(2026, 3, 7), 13, 14),
        ("America/New_York", date(2026, 11, 1), date(2026, 10, 31), 14, 13),
    ],
)
def test_wall_clock_rules_follow_dst(org, tz, dst_day, plain_day, dst_first_utc, plain_first_utc):
    location = make_location(org, tz=tz)
    make_rule(location, start_time=time(9), end_time=time(17), slot_duration_minutes=60, slot_granularity_minutes=60)
    rules = list(AvailabilityRule.objects.filter(location=location))
    for day, first_utc in ((dst_day, dst_first_utc), (plain_day, plain_first_utc)):
        slots = expand_day(rules, day, ZoneInfo(tz))
        assert len(slots) == 8
        assert slots[0][0] == datetime.combine(day, time(first_utc), tzinfo=UTC)
        assert [s[0].astimezone(ZoneInfo(tz)).hour for s in slots] == list(range(9, 17))


def test_a_window_across_the_switch_has_its_real_length(org):
    location = make_location(org, tz="Europe/Berlin")
    make_rule(location, start_time=time(0), end_time=time(6), slot_duration_minutes=60, slot_granularity_minutes=60)
    rules = list(AvailabilityRule.objects.filter(location=location))
    spring = expand_day(rules, date(2026, 3, 29), ZoneInfo("Europe/Berlin"))
    autumn = expand_day(rules, date(2026, 10, 25), ZoneInfo("Europe/Berlin"))
    assert len(spring) == 5 and len(autumn) == 7  # 23- and 25-hour days
    assert len({s[0] for s in autumn}) == 7


def test_hourly_task_generates_idempotently(org):
    location = make_location(org, tz="Asia/Dubai")
    make_rule(location)
    assert slots_generate_task() > 0
    count = SlotInstance.objects.count()
    assert slots_generate_task() == 0
    assert SlotInstance.objects.count() == count


def test_person_rules_use_the_persons_zone(org, admin):
    location = make_location(org, tz="UTC")
    person = make_person(org, location)
    person.timezone = "America/New_York"
    person.save()
    make_rule(
        location, person, start_time=time(9), end_time=time(10), slot_duration_minutes=60, slot_granularity_minutes=60
    )
    response = _generate(admin, location, "2030-07-01", "2030-07-01", person_id=str(person.pk))
    assert response.json()["created"] == 1
    slot = SlotInstance.objects.get(person=person)
    assert slot.start_at == datetime(2030, 7, 1, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        (Role.OWNER, 200, 201),
        (Role.ADMIN, 200, 201),
        (Role.MANAGER, 200, 201),
        (Role.FRONTDESK, 200, 403),
        (Role.SCHEDULER, 403, 403),
        (Role.MEMBER, 403, 403),
    ],
)
def test_admin_api_role_gating(org, make_member, role, read, write):
    client = key_client(make_member(org, role))
    location = make_location(org)
    for path in ("/admin/v1/locations", "/admin/v1/people", "/admin/v1/availabilities", "/admin/v1/slots"):
        assert client.get(path).status_code == read, path
    assert client.post("/admin/v1/locations", {"name": "New"}, format="json").status_code == write
    response = client.post(
        "/admin/v1/slots/generate",
        {"location_id": str(location.pk), "date_from": "2030-01-01", "date_to": "2030-01-02"},
        format="json",
    )
    assert response.status_code == (200 if write == 201 else 403)


def test_generation_range_is_bounded(org, admin):
    location = make_location(org)
    assert _generate(admin, location, "2030-01-01", "2031-01-01").json()["code"] == "RANGE_TOO_LARGE"
    assert _generate(admin, location, "2030-01-02", "2030-01-01").status_code == 400
