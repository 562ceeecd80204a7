"""50 parallel holds over real HTTP, spread over two server processes: exactly `capacity`
succeed, every other one is 409 SLOT_FULL, and the slot's counters agree."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from apps.bookings.models import Booking
from apps.orgs.models import Role
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.scheduling.factories import make_location, make_slot
from tests.servers import asgi_server, server_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
PARALLEL = 50


async def _fire(base_urls, raw_key, slot_id):
    headers = {"Authorization": f"Bearer {raw_key}"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=PARALLEL)) as client:

        async def one(i):
            response = await client.post(
                f"{base_urls[i % len(base_urls)]}/v1/bookings",
                json={"slot_id": slot_id, "attendee_name": f"Guest {i}"},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            return response.status_code, response.json().get("code")

        return await asyncio.gather(*(one(i) for i in range(PARALLEL)))


def test_parallel_holds_never_oversell(org):
    raw_key = key_client(MembershipFactory(org=org, role=Role.FRONTDESK)).raw_key
    location = make_location(org)
    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    slots = {
        capacity: make_slot(location, capacity=capacity, start=start + timedelta(hours=n))
        for n, capacity in enumerate((1, 3, 10))
    }
    env = server_env(THROTTLE_BOOKING="100000/min", THROTTLE_USER="100000/min")
    with asgi_server(env) as one, asgi_server(env) as two:
        for capacity, slot in slots.items():
            results = asyncio.run(_fire([one.base_url, two.base_url], raw_key, str(slot.pk)))
            created = [r for r in results if r[0] == 201]
            refused = [r for r in results if r[0] != 201]
            assert len(created) == capacity, results
            assert all(r == (409, "SLOT_FULL") for r in refused), refused
            slot.refresh_from_db()
            assert (slot.hold, slot.booked, slot.status) == (capacity, 0, "full")
            assert Booking.objects.filter(slot=slot, status="held").count() == capacity
