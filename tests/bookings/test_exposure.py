"""The exposure API (general scheduler): a deterministic, fair subset of the open slots."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.bookings.models import Booking
from apps.bookings.selectors import pick_exposed
from apps.orgs.models import Role
from tests.bookings.factories import make_booking
from tests.conftest import key_client
from tests.scheduling.factories import make_location, make_person, make_slot

pytestmark = pytest.mark.django_db
HOURS = [8, 9, 10, 11, 13, 14, 15, 16, 18, 19, 20]  # morning, afternoon, evening
DAY = date.today() + timedelta(days=3)


@pytest.fixture
def setup(org, make_member):
    location = make_location(org, tz="Asia/Dubai")
    tz = ZoneInfo("Asia/Dubai")
    slots = [
        make_slot(location, capacity=2, start=datetime.combine(DAY, time(h), tzinfo=tz).astimezone(ZoneInfo("UTC")))
        for h in HOURS
    ]
    for slot in slots:
        slot.date = DAY
        slot.save()
    return location, slots, key_client(make_member(org, Role.MEMBER))


def exposed(client, location, session="s1", person=None, **headers):
    params = {"location_id": str(location.pk), "date": DAY.isoformat()}
    if person:
        params["person_id"] = str(person.pk)
    response = client.get("/v1/slots", params, HTTP_X_SESSION_ID=session, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def parts(body, tz="Asia/Dubai"):
    hours = [datetime.fromisoformat(s["start_at"]).astimezone(ZoneInfo(tz)).hour for s in body["slots"]]
    return {"am" if h < 12 else "pm" if h < 17 else "ev" for h in hours}


def test_location_exposure_is_3_to_5_fair_and_sticky(setup):
    location, slots, client = setup
    body = exposed(client, location)
    assert 3 <= len(body["slots"]) <= 5
    assert body["total"] == len(HOURS) and body["has_more"] is True
    assert parts(body) == {"am", "pm", "ev"}  # day-part fairness
    assert exposed(client, location) == body  # sticky (cache)
    cache.clear()
    assert exposed(client, location) == body  # deterministic (seed), not just cached


def test_sessions_see_different_subsets_and_nothing_starves(setup):
    location, slots, client = setup
    seen, sizes = Counter(), Counter()
    for n in range(40):
        body = exposed(client, location, session=f"visitor-{n}")
        sizes[len(body["slots"])] += 1
        seen.update(s["id"] for s in body["slots"])
        assert parts(body) == {"am", "pm", "ev"}
    assert set(sizes) <= {3, 4, 5} and len(sizes) >= 2
    assert len(seen) == len(slots)  # every open slot is exposed to somebody


def test_person_exposure_is_1_to_3(org, setup):
    location, _, client = setup
    person = make_person(org, location)
    for h in (9, 14, 19, 20):
        start = datetime.combine(DAY, time(h), tzinfo=ZoneInfo("Asia/Dubai")).astimezone(ZoneInfo("UTC"))
        slot = make_slot(location, person, start=start)
        slot.date = DAY
        slot.save()
    for n in range(15):
        body = exposed(client, location, session=f"p{n}", person=person)
        assert 1 <= len(body["slots"]) <= 3
        assert body["total"] == 4
        assert all(s["person_id"] == str(person.pk) for s in body["slots"])


def test_exposure_is_capped_by_availability_and_skips_full_slots(setup):
    location, slots, client = setup
    for slot in slots[2:]:
        slot.booked, slot.status = 2, "full"
        slot.save()
    body = exposed(client, location)
    assert {s["id"] for s in body["slots"]} == {str(s.pk) for s in slots[:2]}
    assert body == {**body, "total": 2, "has_more": False}


def test_expired_holds_count_again_before_exposure(setup):
    location, slots, client = setup
    for slot in slots:
        make_booking(slot, status="held")
        make_booking(slot, status="held")
        slot.hold, slot.status = 2, "full"
        slot.save()
    assert exposed(client, location)["total"] == 0
    Booking.objects.filter(slot=slots[0]).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    body = exposed(client, location, session="fresh")
    assert body["total"] == 1 and body["slots"][0]["id"] == str(slots[0].pk)


def test_variant_all_and_dates(setup):
    location, slots, client = setup
    body = exposed(client, location, HTTP_X_EXPOSURE_VARIANT="all")
    assert len(body["slots"]) == len(HOURS) and body["variant"] == "all"
    response = client.get("/v1/dates", {"location_id": str(location.pk)})
    assert response.json()["results"] == [{"date": DAY.isoformat(), "available": 2 * len(HOURS)}]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"location_id": "x", "date": "2030-01-01"},
        {"location_id": "{loc}", "date": "01/02/2030"},
        {"location_id": "{loc}"},
    ],
)
def test_bad_exposure_queries_are_400(setup, params):
    location, _, client = setup
    params = {k: v.replace("{loc}", str(location.pk)) for k, v in params.items()}
    assert client.get("/v1/slots", params).status_code == 400


def test_foreign_location_is_404(setup, make_org, make_member):
    location, _, _ = setup
    stranger = key_client(make_member(make_org(), Role.OWNER))
    response = stranger.get("/v1/slots", {"location_id": str(location.pk), "date": DAY.isoformat()})
    assert response.status_code == 404
    assert stranger.get("/v1/dates", {"location_id": str(location.pk)}).status_code == 404


def test_pick_sizes_cover_the_window():
    class S:
        def __init__(self, pk, hour):
            self.pk = pk
            self.start_at = datetime(2030, 1, 1, hour, tzinfo=ZoneInfo("UTC"))

    slots = [S(i, h) for i, h in enumerate(HOURS)]
    utc = ZoneInfo("UTC")
    assert {len(pick_exposed(slots, seed=s, person_scoped=False, tz=utc)) for s in range(200)} == {3, 4, 5}
    assert {len(pick_exposed(slots, seed=s, person_scoped=True, tz=utc)) for s in range(200)} == {1, 2, 3}
    assert pick_exposed(slots, seed=7, person_scoped=False, tz=utc) == pick_exposed(
        slots, seed=7, person_scoped=False, tz=utc
    )
    assert len(pick_exposed(slots[:2], seed=1, person_scoped=False, tz=utc)) == 2
