"""Limits where the spec puts them (issue 17): intake per token (configurable per endpoint,
apart from the anonymous IP limit), public booking page POSTs limited like the API's, and
/metrics behind a token or internal addresses."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.bookings.models import Booking
from apps.incidents.services import intake_endpoint_create
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.factories import actor_for
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db


def _alert(n):
    return {"title": f"Disk {n}", "fingerprint": f"fp-{n}"}


def test_intake_is_limited_per_token_not_by_the_anonymous_ip_limit(owner, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": "2/min", "intake": "5/min"}
    _, busy = intake_endpoint_create(actor=actor_for(owner), name="alertmanager")
    _, other = intake_endpoint_create(actor=actor_for(owner), name="other")
    client = APIClient()
    statuses = [client.post(f"/v1/intake/{busy}", _alert(n), format="json").status_code for n in range(6)]
    assert statuses == [201] * 5 + [429]  # far past the anonymous 2/min, stopped at the token's 5/min
    refused = client.post(f"/v1/intake/{busy}", _alert(9), format="json")
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "RATE_LIMITED" and int(refused["Retry-After"]) >= 1
    assert client.post(f"/v1/intake/{other}", _alert(77), format="json").status_code == 201  # its own budget


def test_an_endpoint_may_set_its_own_rate(owner, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "intake": "1000/min"}
    api = key_client(owner)
    created = api.post("/v1/intake-endpoints", {"name": "slow", "rate_limit": "2/min"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["rate_limit"] == "2/min"
    token = created.json()["token"]
    statuses = [APIClient().post(f"/v1/intake/{token}", _alert(n), format="json").status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    bad = api.post("/v1/intake-endpoints", {"name": "bad", "rate_limit": "lots"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "rate_limit"


def test_guessing_intake_tokens_spends_the_anonymous_ip_budget(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "anon": "3/min"}
    statuses = [APIClient().post(f"/v1/intake/in_guess{n}", {}, format="json").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]


@pytest.fixture
def host(org):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="limited")
    make_rule(location, person, start_time=time(9), end_time=time(17))
    make_event_type(org, person, slug="intro")
    return person


def test_booking_page_posts_share_the_api_booking_limit(host, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "booking": "3/min"}
    start = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    client = APIClient()
    statuses = []
    for n in range(2):  # two through the API ...
        body = {"start_time": (start + timedelta(hours=n)).isoformat(), "attendee_name": "A"}
        body["attendee_email"] = f"api{n}@example.test"
        statuses.append(client.post("/v1/book/limited/intro", body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{n}"))
    for n in range(2, 4):  # ... then two through the page: the fourth is over the shared 3/min
        body = {"start_time": (start + timedelta(hours=n)).isoformat(), "attendee_name": "P"}
        body["attendee_email"] = f"page{n}@example.test"
        statuses.append(client.post("/book/limited/intro", body))
    assert [r.status_code for r in statuses] == [201, 201, 201, 429]
    assert int(statuses[-1]["Retry-After"]) >= 1
    assert b"Too many attempts" in statuses[-1].content
    assert Booking.objects.count() == 3
    assert client.get("/book/limited/intro").status_code == 200  # reading the page is not limited


def test_manage_page_posts_are_limited_too(host, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "booking": "1/min"}
    client = APIClient()
    assert client.post("/book/manage/forged-token/cancel").status_code in (404, 429)
    assert client.post("/book/manage/forged-token/cancel").status_code in (404, 429)


def test_metrics_need_the_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "s3cret"
    assert APIClient().get("/metrics").status_code == 404
    assert APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 404
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200 and b"http_requests_total" in response.content


def test_metrics_without_a_token_only_answer_internal_addresses(settings):
    settings.METRICS_TOKEN = ""
    assert APIClient().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert APIClient().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert APIClient().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    assert APIClient().get("/metrics", REMOTE_ADDR="2001:db8::1").status_code == 404
