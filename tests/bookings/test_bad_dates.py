"""Dates at the edges of the calendar (year 1 or 9999) are a 400, never an overflow 500."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.orgs.models import Role
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.scheduling.factories import make_location, make_person, make_rule

pytestmark = pytest.mark.django_db
EDGES = ["9999-12-31T23:59:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"]


@pytest.fixture
def booked(org):
    location = make_location(org, tz="UTC")
    person = make_person(org, location, username="edge")
    make_rule(location, person, start_time=time(9), end_time=time(12))
    make_event_type(org, person, slug="intro")
    start = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {"start_time": start.isoformat(), "attendee_name": "A", "attendee_email": "a@example.test"}
    response = APIClient().post("/v1/book/edge/intro", body, format="json", HTTP_IDEMPOTENCY_KEY="ok")
    assert response.status_code == 201
    return response.json(), location


@pytest.mark.parametrize("start", EDGES)
def test_booking_at_the_edge_of_time_is_400(org, booked, make_member, start):
    booking, _ = booked
    client = APIClient()
    body = {"start_time": start, "attendee_name": "A", "attendee_email": "a@example.test"}
    response = client.post("/v1/book/edge/intro", body, format="json", HTTP_IDEMPOTENCY_KEY=start)
    assert response.status_code == 400, response.content
    token = booking["cancel_url"].split("/")[-2]
    response = client.post(f"/v1/book/manage/{token}/reschedule", {"start_time": start}, format="json")
    assert response.status_code == 400, response.content
    admin = key_client(make_member(org, Role.ADMIN))
    response = admin.patch(
        f"/admin/v1/bookings/{booking['id']}", {"action": "reschedule", "start_time": start}, format="json"
    )
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_days_at_the_edge_of_time_are_400(org, booked, make_member, day):
    _, location = booked
    admin = key_client(make_member(org, Role.ADMIN))
    assert APIClient().get(f"/v1/slots/edge/intro?date={day}").status_code == 400
    assert admin.get("/v1/slots", {"location_id": str(location.pk), "date": day}).status_code == 400
    response = admin.post(
        "/admin/v1/slots/generate",
        {"location_id": str(location.pk), "date_from": day, "date_to": day},
        format="json",
    )
    assert response.status_code == 400, response.content
