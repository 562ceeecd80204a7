"""Never double-booked across kinds: 50 parallel requests over real HTTP on two server
processes try to occupy one person at overlapping times, half through public bookings and
half through schedule-entry saves. At most one wins; the database agrees."""

import asyncio
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from apps.bookings.models import Booking
from apps.orgs.models import Role
from apps.scheduling.models import ScheduleEntry
from tests.bookings.factories import make_event_type
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.scheduling.factories import make_location, make_person, make_rule
from tests.servers import asgi_server, server_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
PARALLEL = 50
BERLIN = ZoneInfo("Europe/Berlin")
DAY = date.today() + timedelta(days=4)


def at(hour, minute=0):
    return datetime.combine(DAY, time(hour, minute), tzinfo=BERLIN)


async def _fire(base_urls, raw_key, membership_id):
    headers = {"Authorization": f"Bearer {raw_key}"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=PARALLEL)) as client:

        async def one(i):
            base = base_urls[i % len(base_urls)]
            minute = (i % 4) * 15  # 10:00, 10:15, 10:30, 10:45: every pair overlaps some other
            if i % 2:
                body = {
                    "start_time": at(10, minute).isoformat(),
                    "attendee_name": f"Guest {i}",
                    "attendee_email": f"g{i}@example.test",
                }
                response = await client.post(
                    f"{base}/v1/book/race-host/intro", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
                return "booking", response.status_code
            body = {
                "title": f"Visit {i}",
                "start": at(10, minute).isoformat(),
                "end": at(11, minute).isoformat(),
                "assignee_ids": [membership_id],
            }
            response = await client.post(f"{base}/v1/schedule-entries", json=body, headers=headers)
            return "entry", response.status_code

        return await asyncio.gather(*(one(i) for i in range(PARALLEL)))


def test_bookings_and_entries_racing_for_one_person(org):
    location = make_location(org, tz="Europe/Berlin")
    host = make_person(org, location, username="race-host")
    make_rule(location, host, start_time=time(8), end_time=time(18), slot_granularity_minutes=15)
    make_event_type(org, host, slug="intro", duration_minutes=60)
    raw_key = key_client(MembershipFactory(org=org, role=Role.SCHEDULER)).raw_key
    env = server_env(THROTTLE_BOOKING="100000/min", THROTTLE_USER="100000/min", THROTTLE_ANON="100000/min")
    with asgi_server(env) as one, asgi_server(env) as two:
        results = asyncio.run(_fire([one.base_url, two.base_url], raw_key, str(host.membership_id)))
    won = [r for r in results if r[1] == 201]
    assert len(won) <= 1, results
    assert all(code in (201, 409) for _kind, code in results), results
    bookings = Booking.objects.filter(person=host, status__in=["pending", "confirmed"]).count()
    entries = ScheduleEntry.objects.filter(assignees=host.membership).count()
    assert bookings + entries == len(won) == 1
