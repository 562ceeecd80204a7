"""iCal feeds (parsed back by icalendar + recurring-ical-events) and .ics import."""

from datetime import UTC, datetime

import icalendar
import pytest
import recurring_ical_events
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.orgs.models import Role, Team, TeamMember
from apps.scheduling.models import ScheduleEntry
from tests.conftest import key_client
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)


def _window(api, **params):
    response = api.get(
        "/v1/schedule-entries", {"start": "2026-03-01T00:00:00Z", "end": "2026-05-01T00:00:00Z", **params}
    )
    assert response.status_code == 200
    return sorted((i["title"], i["start"], i["end"]) for i in response.json()["results"])


def _from_ics(body: bytes):
    cal = icalendar.Calendar.from_ical(body)
    rows = []
    for event in recurring_ical_events.of(cal).between(START, END):
        rows.append(
            (
                str(event["summary"]),
                event["dtstart"].dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                event["dtend"].dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
    return sorted(rows)


def _seed(api, person):
    body = {
        "title": "Rounds",
        "start": "2026-03-02T08:00:00Z",  # 09:00 Berlin, crosses DST on Mar 29
        "end": "2026-03-02T09:00:00Z",
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20260430T000000Z",
        "assignee_ids": [str(person.pk)],
    }
    entry = api.post("/v1/schedule-entries", body, format="json").json()
    moved = f"{entry['id']}_20260305T080000Z"
    api.patch(
        f"/v1/schedule-entries/{moved}",
        {"title": "Rounds (late)", "start": "2026-03-05T12:00:00Z", "end": "2026-03-05T13:30:00Z"},
        format="json",
    )
    assert api.delete(f"/v1/schedule-entries/{entry['id']}_20260312T080000Z").status_code == 204
    api.post(
        "/v1/schedule-entries",
        {
            "title": "One-off",
            "start": "2026-04-15T10:00:00Z",
            "end": "2026-04-15T11:00:00Z",
            "assignee_ids": [str(person.pk)],
        },
        format="json",
    )
    return entry


def test_person_feed_matches_the_api(org, api):
    person = MembershipFactory(org=org, role=Role.MEMBER)
    _seed(api, person)
    feed = api.post("/v1/schedule-feeds", {"membership_id": str(person.pk)}, format="json")
    assert feed.status_code == 201, feed.content
    token = feed.json()["token"]
    assert feed.json()["url"].endswith(f"/v1/schedule-feed/{token}.ics")
    from rest_framework.test import APIClient

    response = APIClient().get(f"/v1/schedule-feed/{token}.ics")  # no credentials: the token is the key
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content
    text = body.decode()
    assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/Berlin" in text
    assert "RRULE:FREQ=WEEKLY" in text and "EXDATE" in text and "RECURRENCE-ID" in text
    assert _from_ics(body) == _window(api, assignee=str(person.pk))
    assert len(_from_ics(body)) == 17
    assert APIClient().get("/v1/schedule-feed/cal_wrong.ics").status_code == 404


def test_team_feed_excludes_private_entries(org, api):
    person = MembershipFactory(org=org)
    team = Team.objects.create(org=org, slug="crew", name="Crew")
    TeamMember.objects.create(org=org, team=team, membership=person)
    api.post(
        "/v1/schedule-entries",
        {
            "title": "Team job",
            "start": "2026-03-03T10:00:00Z",
            "end": "2026-03-03T11:00:00Z",
            "assignee_ids": [str(person.pk)],
        },
        format="json",
    )
    api.post(
        "/v1/schedule-entries",
        {
            "title": "Doctor",
            "private": True,
            "start": "2026-03-04T10:00:00Z",
            "end": "2026-03-04T11:00:00Z",
            "assignee_ids": [str(person.pk)],
        },
        format="json",
    )
    token = api.post("/v1/schedule-feeds", {"team_id": str(team.pk)}, format="json").json()["token"]
    rows = _from_ics(api.get(f"/v1/schedule-feed/{token}.ics").content)
    assert [r[0] for r in rows] == ["Team job"]


def test_members_create_only_their_own_feed(org):
    member = MembershipFactory(org=org, role=Role.MEMBER)
    other = MembershipFactory(org=org, role=Role.MEMBER)
    client = key_client(member)
    assert client.post("/v1/schedule-feeds", {}, format="json").status_code == 201
    assert client.post("/v1/schedule-feeds", {"membership_id": str(other.pk)}, format="json").status_code == 403


def test_import_round_trip(org, api, scheduler):
    person = MembershipFactory(org=org, role=Role.MEMBER)
    _seed(api, person)
    token = api.post("/v1/schedule-feeds", {"membership_id": str(person.pk)}, format="json").json()["token"]
    exported = api.get(f"/v1/schedule-feed/{token}.ics").content
    expected = _window(api, assignee=str(person.pk))
    ScheduleEntry.objects.all().delete()
    upload = SimpleUploadedFile("cal.ics", exported, content_type="text/calendar")
    response = api.post(f"/v1/schedule-entries/import?assignee={person.pk}", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert len(response.json()) == 2
    assert _window(api, assignee=str(person.pk)) == expected


@pytest.mark.parametrize(
    "payload",
    [
        b"not a calendar",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:bad\r\nDTSTART:20260301T090000Z\r\nDTEND:20260301T100000Z\r\nRRULE:FREQ=NEVER\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ],
)
def test_import_of_bad_files_is_400(api, payload):
    upload = SimpleUploadedFile("cal.ics", payload, content_type="text/calendar")
    response = api.post("/v1/schedule-entries/import", {"file": upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert not ScheduleEntry.objects.exists()
