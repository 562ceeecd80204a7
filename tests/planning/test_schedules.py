"""Daily schedules: ETag = rev, If-Match on every write (412 with the current version, 428
when missing), publish (entries written, schedule.published, one email per person), the
validator's stored conflicts, and who may do what."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.events.models import Event
from apps.planning.models import DailySchedule, ScheduleConflict
from apps.scheduling.models import ScheduleEntry
from tests.planning.conftest import create_schedule, item, put_assignments
from tests.planning.factories import at, make_incident
from tests.signals.fakes import fake_http_service
from tests.signals.test_alerts import subscribe, vapid  # noqa: F401 - the VAPID keys fixture

pytestmark = pytest.mark.django_db


def test_etag_and_if_match(plan):
    incident = plan.incident(skills=["gas"])
    created = create_schedule(plan.scheduler, plan.day)
    assert created.status_code == 201 and created["ETag"] == '"1"'
    assert created["Location"] == f"/v1/daily-schedules/{created.json()['id']}"
    sid = created.json()["id"]
    assert create_schedule(plan.scheduler, plan.day).json()["id"] == sid  # one per org per date (200)

    one = [item(plan.gas, incident, at(plan.day, 9), at(plan.day, 10))]
    missing = put_assignments(plan.scheduler, sid, None, one)
    assert missing.status_code == 428 and missing.json()["code"] == "PRECONDITION_REQUIRED"
    assert missing["Content-Type"] == "application/problem+json"

    ok = put_assignments(plan.scheduler, sid, 1, one)
    assert ok.status_code == 200, ok.content
    assert ok["ETag"] == '"2"' and ok.json()["rev"] == 2
    assert ok.json()["assignments"][0]["work_item"] == {"type": "incident", "id": str(incident.pk)}

    other = [item(plan.electric, incident, at(plan.day, 11), at(plan.day, 12))]
    stale = put_assignments(plan.scheduler, sid, 1, other)
    assert stale.status_code == 412 and stale.json()["code"] == "PRECONDITION_FAILED"
    current = stale.json()["current"]
    assert current["rev"] == 2 and current["assignments"][0]["person_id"] == str(plan.gas.pk)

    got = plan.frontdesk.get(f"/v1/daily-schedules/{sid}")
    assert got.status_code == 200 and got["ETag"] == '"2"'
    assert DailySchedule.objects.get(pk=sid).assignments.get().person_id == plan.gas.pk  # nothing lost


def test_every_write_needs_if_match(plan):
    incident = plan.incident()
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    base = f"/v1/daily-schedules/{sid}"
    body = item(plan.gas, incident, at(plan.day, 9), at(plan.day, 10))
    assert plan.scheduler.post(f"{base}/assignments", body, format="json").status_code == 428
    assert plan.scheduler.post(f"{base}/publish").status_code == 428
    added = plan.scheduler.post(f"{base}/assignments", body, format="json", HTTP_IF_MATCH='"1"')
    assert added.status_code == 200 and added["ETag"] == '"2"'
    aid = added.json()["assignments"][0]["id"]
    assert plan.scheduler.delete(f"{base}/assignments/{aid}").status_code == 428
    assert plan.scheduler.delete(f"{base}/assignments/{aid}", HTTP_IF_MATCH="1").status_code == 412
    removed = plan.scheduler.delete(f"{base}/assignments/{aid}", HTTP_IF_MATCH='W/"2"')
    assert removed.status_code == 200 and removed.json()["assignments"] == []
    assert plan.scheduler.post(f"{base}/publish", HTTP_IF_MATCH='"x"').json()["code"] == "VALIDATION_ERROR"


def test_bad_assignments_are_400_and_write_nothing(plan, make_org):
    incident = plan.incident()
    other = make_incident(make_org())
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    cases = [
        [item(plan.gas, other, at(plan.day, 9), at(plan.day, 10))],  # another org's incident
        [item(plan.gas, incident, at(plan.day, 10), at(plan.day, 9))],  # end before start
        [item(plan.gas, incident, at(plan.day + timedelta(days=2), 9), at(plan.day + timedelta(days=2), 10))],
        [item(plan.gas, incident, at(plan.day, 9), at(plan.day, 10))] * 2,  # twice
        [{**item(plan.gas, incident, at(plan.day, 9), at(plan.day, 10)), "colour": "red"}],  # unknown field
    ]
    for items in cases:
        response = put_assignments(plan.scheduler, sid, 1, items)
        assert response.status_code == 400, (items, response.content)
        assert response.json()["code"] == "VALIDATION_ERROR"
    schedule = DailySchedule.objects.get(pk=sid)
    assert schedule.rev == 1 and not schedule.assignments.exists()


def test_validator_stores_conflicts_of_a_manual_plan(plan):
    incident = plan.incident(skills=["gas"])
    second = plan.incident(title="Second")
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    items = [
        item(plan.electric, incident, at(plan.day, 9), at(plan.day, 10)),  # lacks gas
        item(plan.electric, second, at(plan.day, 9, 30), at(plan.day, 10, 30)),  # overlaps
    ]
    assert put_assignments(plan.scheduler, sid, 1, items).status_code == 200
    types = set(ScheduleConflict.objects.filter(schedule_id=sid, resolved=False).values_list("type", flat=True))
    assert {"skill_missing", "double_booked"} <= types
    listed = plan.frontdesk.get("/v1/schedule-conflicts", {"date": plan.day.isoformat()}).json()["results"]
    assert {c["type"] for c in listed} == types
    evening = [item(plan.gas, incident, at(plan.day, 19), at(plan.day, 20))]  # after the 17:00 shift end
    assert put_assignments(plan.scheduler, sid, 2, evening).status_code == 200
    types = set(ScheduleConflict.objects.filter(schedule_id=sid, resolved=False).values_list("type", flat=True))
    assert types == {"outside_availability"}


@pytest.mark.django_db(transaction=True)
def test_publish_writes_entries_emits_event_and_emails_each_person(plan):
    incident = plan.incident(title="Boiler", skills=["gas"])
    entry = ScheduleEntry.objects.create(
        org=plan.org, title="Open shift", start=at(plan.day, 13), end=at(plan.day, 14), timezone="Europe/Berlin"
    )
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    items = [
        item(plan.gas, incident, at(plan.day, 9), at(plan.day, 10)),
        {
            "person_id": str(plan.electric.pk),
            "work_item": {"type": "entry", "id": str(entry.pk)},
            "start": at(plan.day, 13).isoformat(),
            "end": at(plan.day, 14).isoformat(),
        },
    ]
    assert put_assignments(plan.scheduler, sid, 1, items).status_code == 200
    mail.outbox.clear()
    published = plan.scheduler.post(f"/v1/daily-schedules/{sid}/publish", HTTP_IF_MATCH='"2"')
    assert published.status_code == 200, published.content
    body = published.json()
    assert body["status"] == "published" and body["rev"] == 3 and body["published_rev"] == 3
    written = ScheduleEntry.objects.get(incident=incident)
    assert list(written.assignees.all()) == [plan.gas.membership]
    assert (written.start, written.end) == (at(plan.day, 9), at(plan.day, 10))
    assert list(entry.assignees.all()) == [plan.electric.membership]
    event = Event.objects.get(org=plan.org, type="schedule.published")
    assert event.data["rev"] == 3 and len(event.data["assignments"]) == 2
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([plan.gas.membership.user.email, plan.electric.membership.user.email])

    # republishing replaces what the last publish wrote instead of adding to it
    again = plan.scheduler.post(f"/v1/daily-schedules/{sid}/publish", HTTP_IF_MATCH='"3"')
    assert again.status_code == 200
    assert ScheduleEntry.objects.filter(incident=incident).count() == 1
    assert DailySchedule.objects.get(pk=sid).conflicts.filter(resolved=False).count() == 0


@pytest.mark.parametrize(
    ("who", "method", "path", "expected"),
    [
        ("frontdesk", "get", "/v1/daily-schedules", 200),
        ("frontdesk", "get", "/v1/schedule-requests", 200),
        ("frontdesk", "get", "/v1/optimization-runs", 200),
        ("frontdesk", "get", "/v1/schedule-conflicts", 200),
        ("frontdesk", "post", "/v1/daily-schedules", 403),
        ("frontdesk", "post", "/v1/schedule-requests", 403),
        ("frontdesk", "post", "/v1/schedule-conflicts/resolve", 403),
        ("frontdesk", "get", "/v1/schedule-optimization", 403),
        ("member", "get", "/v1/daily-schedules", 403),
        ("member", "get", "/v1/schedule-requests", 403),
        ("member", "get", "/v1/schedule-conflicts", 403),
        ("scheduler", "post", "/v1/daily-schedules", 201),
    ],
)
def test_roles(plan, who, method, path, expected):
    client = getattr(plan, who)
    body = {"date": plan.day.isoformat()} if method == "post" else {}
    response = getattr(client, method)(path, body, format="json") if method == "post" else client.get(path)
    assert response.status_code == expected, response.content


def test_schedule_writes_by_role(plan):
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    for client in (plan.frontdesk, plan.member):
        response = put_assignments(client, sid, 1, [])
        assert response.status_code == 403
    assert plan.frontdesk.get(f"/v1/daily-schedules/{sid}").status_code == 200
    assert plan.member.get(f"/v1/daily-schedules/{sid}").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_publish_pushes_to_each_affected_persons_browsers(plan, vapid):  # noqa: F811
    incident = plan.incident(title="Boiler")
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    items = [item(plan.gas, incident, at(plan.day, 9), at(plan.day, 10))]
    assert put_assignments(plan.scheduler, sid, 1, items).status_code == 200
    with fake_http_service(status=201) as push_service:
        browser = subscribe(plan.gas.membership, f"{push_service.base_url}/push/gas")
        subscribe(plan.electric.membership, f"{push_service.base_url}/push/electric")  # not on the schedule
        published = plan.scheduler.post(f"/v1/daily-schedules/{sid}/publish", HTTP_IF_MATCH='"2"')
        assert published.status_code == 200
    assert [r.path for r in push_service.requests] == ["/push/gas"]
    payload = browser.decrypt(push_service.requests[0].body)
    assert payload["type"] == "schedule.published" and payload["body"] == "1 assignment(s)"


def test_reading_a_schedule_costs_the_same_queries_however_many_assignments(plan):
    counts = []
    plan.frontdesk.get("/v1/daily-schedules")  # warm the API-key cache
    for size in (1, 12):
        jobs = [plan.incident(title=f"Job {i}") for i in range(size)]
        day = plan.day + timedelta(days=size)
        sid = create_schedule(plan.scheduler, day).json()["id"]
        items = [
            item(
                plan.gas if i % 2 else plan.electric,
                job,
                at(day, 8) + timedelta(minutes=40 * i),
                at(day, 8) + timedelta(minutes=40 * i + 30),
            )
            for i, job in enumerate(jobs)
        ]
        assert put_assignments(plan.scheduler, sid, 1, items).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            assert plan.frontdesk.get(f"/v1/daily-schedules/{sid}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
