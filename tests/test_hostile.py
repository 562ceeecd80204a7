"""Hostile input is a 4xx with problem+json and a stable code, and nothing is written
(issue 17): NUL and lone surrogates, invalid UTF-8, deep nesting, huge bodies, dates at the
edge of time, offsets beyond ±15:59, and RRULEs whose expansion would cost seconds."""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.events.models import Event
from apps.incidents.models import Incident
from apps.incidents.services import intake_endpoint_create
from apps.scheduling.models import ScheduleEntry
from schedkit.api import parsers
from schedkit.api.models import IdempotencyKey
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.factories import actor_for
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
# The schemathesis regression: an unknown key made of NUL and a lone surrogate pair half.
SCHEMATHESIS_BODY = '{"\\u0000\\udbe5\\udcd7": [[]]}'
WRITE_ENDPOINTS = ["/v1/incidents", "/v1/schedule-entries", "/v1/signals/beacon"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_problem(response, status=400, code="MALFORMED_REQUEST"):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code


def writes():
    return (Incident.objects.count(), ScheduleEntry.objects.count(), Event.objects.count())


@pytest.fixture
def api(owner):
    return key_client(owner)


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize("idempotency_key", [None, "k-1"])
def test_schemathesis_regressions_nul_and_lone_surrogates(api, path, idempotency_key):
    before = writes()
    extra = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = api.post(path, SCHEMATHESIS_BODY, content_type="application/json", **extra)
    assert_problem(response)
    assert writes() == before
    if idempotency_key:  # the 400 was stored and is replayed, not a 500
        again = api.post(path, SCHEMATHESIS_BODY, content_type="application/json", **extra)
        assert_problem(again)
        assert again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "a\\u0000b"}',
        '{"title": "\\ud800"}',
        '{"title": "ok", "\\udfff": 1}',
        b'{"title": "\xff\xfe"}',
        b'{"title": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8 (invalid)
        '{"title": NaN}',
        '{"title": Infinity}',
    ],
)
def test_bad_text_is_refused_before_any_write(api, body):
    before = writes()
    assert_problem(api.post("/v1/incidents", body, content_type="application/json"))
    assert writes() == before


def test_valid_unicode_still_works(api):
    response = api.post("/v1/incidents", {"title": "Fire 🔥 à l'école"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Fire 🔥 à l'école"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_json_is_refused_before_parsing_recursion(api, owner, depth):
    _, token = intake_endpoint_create(actor=actor_for(owner), name="am")
    before = writes()
    for client, path in [
        (api, "/v1/incidents"),
        (api, "/v1/schedule-entries"),
        (APIClient(), "/v1/auth/login"),
        (APIClient(), f"/v1/intake/{token}"),
    ]:
        body = '{"title": ' + nested(depth) + "}"
        assert_problem(client.post(path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"d{depth}{path}"))
    assert writes() == before


def test_depth_limit_counts_brackets_outside_strings_only():
    assert parsers.loads('{"a": "' + "[" * 5000 + '"}') == {"a": "[" * 5000}
    assert parsers.loads(nested(parsers.DEFAULT_MAX_DEPTH)) is not None
    with pytest.raises(parsers.MalformedJSON):
        parsers.loads(nested(parsers.DEFAULT_MAX_DEPTH + 1))


@pytest.mark.parametrize("path", ["/v1/incidents", "/v1/auth/login"])
def test_huge_body_is_413_problem(api, path, settings):
    body = json.dumps({"title": "x" * (settings.REQUEST_MAX_BYTES + 10)})
    assert_problem(api.post(path, body, content_type="application/json"), 413, "REQUEST_TOO_LARGE")
    assert_problem(
        api.post(path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big"), 413, "REQUEST_TOO_LARGE"
    )


def test_huge_body_on_intake_is_413_problem(owner, settings):
    _, token = intake_endpoint_create(actor=actor_for(owner), name="am")
    body = json.dumps({"title": "x" * (settings.REQUEST_MAX_BYTES + 10)})
    response = APIClient().post(f"/v1/intake/{token}", body, content_type="application/json")
    assert_problem(response, 413, "REQUEST_TOO_LARGE")


EDGE_MOMENTS = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00", "0001-01-01"]


@pytest.mark.parametrize("moment", EDGE_MOMENTS)
def test_schedule_windows_at_the_edge_of_time_are_400(api, moment):
    for params in ({"start": moment, "end": "2026-01-01T00:00:00Z"}, {"start": "2026-01-01", "end": moment}):
        response = api.get("/v1/schedule-entries", params)
        assert response.status_code == 400, (params, response.content)
        assert response["Content-Type"] == PROBLEM
    assert api.get("/v1/schedule-entries", {"start": "10000-01-01", "end": "10000-01-02"}).status_code == 400


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00"])
def test_schedule_entry_at_the_edge_of_time_is_400(api, owner, moment):
    before = writes()
    body = {"title": "Edge", "start": moment, "end": moment, "assignees": [str(owner.pk)]}
    response = api.post("/v1/schedule-entries", body, format="json")
    assert response.status_code == 400, response.content
    assert writes() == before


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/signals", "since"),
        ("/v1/signals", "until"),
        ("/admin/v1/bookings", "start_before"),
        ("/admin/v1/bookings", "start_after"),
    ],
)
@pytest.mark.parametrize("offset", ["-22:48", "+17:51", "+23:59"])
def test_offsets_beyond_postgresql_range_are_400(api, path, param, offset):
    response = api.get(path, {param: f"2030-01-01T00:00:00{offset}"})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_time_filters_at_the_edge_of_time_never_err(api, moment):
    for path, param in [("/v1/signals", "since"), ("/admin/v1/bookings", "start_before"), ("/v1/events", "since")]:
        response = api.get(path, {param: moment})
        assert response.status_code < 500, (path, response.content)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "x" * 300, "UTC\x00", "Etc/GMT+99"])
def test_bad_zones_are_400(api, owner, zone):
    body = {"title": "Z", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "timezone": zone}
    body["assignees"] = [str(owner.pk)]
    body["rrule"] = "FREQ=DAILY;COUNT=2"
    assert api.post("/v1/schedule-entries", body, format="json").status_code == 400


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;UNTIL=99991231T235959Z",
        "FREQ=HOURLY;UNTIL=99991231T235959Z",
        "FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=99991231T235959Z",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;UNTIL=99991231T235959Z",
    ],
)
def test_far_until_rules_are_answered_without_stepping_every_occurrence(api, owner, rule):
    body = {"title": "Long", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "rrule": rule}
    body["assignees"] = [str(owner.pk)]
    body["force"] = True
    response = api.post("/v1/schedule-entries", body, format="json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        entry = ScheduleEntry.objects.get()
        assert entry.series_end.year >= 9990


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;UNTIL=99999999T999999Z",
        "FREQ=DAILY;COUNT=99999999999999999999",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;BYHOUR=99",
        "FREQ=MONTHLY;BYMONTHDAY=30;BYMONTH=2",
        "FREQ=SECONDLY",
        "FREQ=DAILY;;;=;",
        "FREQ=DAILY;BYDAY=XX",
        "RRULE:RRULE:FREQ=DAILY",
        "FREQ=DAILY;UNTIL=00010101T000000Z",
        "\x00",
    ],
)
def test_malformed_rrules_are_400(api, owner, rule):
    body = {"title": "R", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "rrule": rule}
    body["assignees"] = [str(owner.pk)]
    response = api.post("/v1/schedule-entries", body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    assert not ScheduleEntry.objects.exists()


def test_a_validation_error_with_an_idempotency_key_is_stored(api):
    response = api.post("/v1/incidents", {"nope": 1}, format="json", HTTP_IDEMPOTENCY_KEY="v-1")
    assert response.status_code == 400
    record = IdempotencyKey.objects.get(key="v-1")
    assert record.response_status == 400


def test_storable_replaces_what_jsonb_refuses():
    from schedkit.api.idempotency import storable

    assert storable({"a\x00b": ["\udbe5"], "ok": "🔥"}) == {"a\ufffdb": ["\ufffd"], "ok": "🔥"}
    assert storable({"ok": "🔥"}) == {"ok": "🔥"}


# --- the public booking pages ------------------------------------------------------------


@pytest.fixture
def host(org):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="edge")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="intro")
    start = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {"start_time": start.isoformat(), "attendee_name": "A", "attendee_email": "a@example.test"}
    response = APIClient().post("/v1/book/edge/intro", body, format="json", HTTP_IDEMPOTENCY_KEY="ok")
    assert response.status_code == 201
    return response.json()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "10000-01-01", "2026-13-45"])
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT-14", "Nowhere/Land"])
def test_booking_page_days_and_zones_never_err(host, day, zone):
    response = APIClient().get("/book/edge/intro", {"date": day, "timezone": zone})
    assert response.status_code == 200


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:00Z", "9999-12-31T23:00:00-05:00"])
def test_booking_form_at_the_edge_of_time_is_400(host, start):
    from apps.bookings.models import Booking

    before = Booking.objects.count()
    body = {"start_time": start, "attendee_name": "A", "attendee_email": "b@example.test"}
    response = APIClient().post("/book/edge/intro", body)
    assert response.status_code == 400
    assert Booking.objects.count() == before


@pytest.mark.parametrize(
    "start", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:00+00:00", "9999-12-31T23:00:00-05:00"]
)
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_manage_page_reschedule_at_the_edge_of_time_is_400(host, start, day):
    token = host["cancel_url"].split("/")[-2]
    client = APIClient()
    assert client.get(f"/book/manage/{token}/reschedule", {"date": day}).status_code == 200
    response = client.post(f"/book/manage/{token}/reschedule?date={day}", {"start_time": start})
    assert response.status_code == 400


def test_series_end_of_a_year_9999_rule_is_quick_and_exact():
    from apps.scheduling import recurrence

    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    end_ = recurrence.series_end("FREQ=DAILY;UNTIL=99991231T235959Z", start, start + timedelta(hours=1), "UTC")
    assert end_ == datetime(9999, 12, 31, 10, tzinfo=UTC)
    hourly = recurrence.series_end("FREQ=HOURLY;INTERVAL=7;UNTIL=20300101T000000Z", start, start, "Europe/Berlin")
    naive = recurrence.build_rule("FREQ=HOURLY;INTERVAL=7;UNTIL=20300101T000000Z", start, "Europe/Berlin")
    assert hourly == list(naive)[-1].astimezone(UTC)
