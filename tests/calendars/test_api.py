"""/v1/calendar-connections: the owner's own connection only, calendar choices validated
(problem+json, no partial write), sync enqueued."""

import pytest

from apps.calendars.models import ConnectedCalendar
from tests.calendars.factories import make_connection
from tests.conftest import key_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_choices_are_validated_and_another_members_connection_is_404(org, make_org, make_member, google):
    member = make_member(org, "member")
    connection = make_connection(member, google=google)
    ConnectedCalendar.objects.create(org=org, connection=connection, calendar_id="team@example.test", summary="Team")
    mine = key_client(member)
    url = f"/v1/calendar-connections/{connection.pk}"
    body = mine.get(url).json()
    assert body["status"] == "active" and {c["calendar_id"] for c in body["calendars"]} == {
        "primary@example.test",
        "team@example.test",
    }
    assert "access_token" not in str(body) and "refresh" not in str(body)

    both = [{"calendar_id": c, "write_target": True} for c in ("primary@example.test", "team@example.test")]
    refused = mine.patch(url, {"calendars": both}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "WRITE_TARGET_MULTIPLE"
    unknown = mine.patch(url, {"calendars": [{"calendar_id": "nope", "check_conflicts": True}]}, format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "CALENDAR_UNKNOWN"
    moved = mine.patch(
        url,
        {"calendars": [{"calendar_id": "team@example.test", "write_target": True, "check_conflicts": True}]},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    targets = {c["calendar_id"]: c["write_target"] for c in moved.json()["calendars"]}
    assert targets == {"primary@example.test": False, "team@example.test": True}

    assert mine.post(f"{url}/sync").status_code == 202

    # an admin of the same org, and anyone of another org, get 404
    assert key_client(make_member(org, "admin")).get(url).status_code == 404
    other = make_org()
    assert key_client(make_member(other, "owner")).get(url).status_code == 404
    assert key_client(make_member(other, "owner")).delete(url).status_code == 404
    assert mine.delete(url).status_code == 204
    assert mine.get("/v1/calendar-connections").json()["results"] == []
