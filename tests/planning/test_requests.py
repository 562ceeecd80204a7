"""Schedule requests (202 + Location, a Celery job, polled), the synchronous optimization,
optimization runs, stored conflicts of an over-constrained day and their resolution, and
re-planning when a consumed event touches a planned day."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.events.publish import publish_on_commit
from apps.planning.day import build_day
from apps.planning.models import DailySchedule, OptimizationRun, ScheduleConflict, ScheduleRequest
from apps.planning.solver import Placement, validate
from tests.conftest import key_client
from tests.factories import MembershipFactory, OrgFactory
from tests.planning.conftest import create_schedule, item, put_assignments
from tests.planning.factories import at, make_incident, make_site, make_worker

pytestmark = pytest.mark.django_db(transaction=True)  # the job is enqueued on commit


def request_day(client, day, **constraints):
    return client.post("/v1/schedule-requests", {"date": day.isoformat(), "constraints": constraints}, format="json")


def poll(client, response) -> dict:
    assert response.status_code == 202, response.content
    assert response["Location"] == f"/v1/schedule-requests/{response.json()['id']}"
    polled = client.get(response["Location"])
    assert polled.status_code == 200
    return polled.json()


def proposal_is_valid(plan, result):
    """The validator, again, on what the API returned."""
    schedule = DailySchedule.objects.get(pk=result["schedule_id"]) if result["schedule_id"] else None
    day = build_day(org=plan.org, day=plan.day, schedule=schedule)
    placements = [
        Placement(
            f"{a['work_item']['type']}:{a['work_item']['id']}",
            a["person_id"],
            day.minute(datetime.fromisoformat(a["start"])),
            day.minute(datetime.fromisoformat(a["end"])),
        )
        for a in result["assignments"]
    ]
    return validate(day.instance, placements)


def test_request_lifecycle_skills_and_unassigned_reasons(plan):
    gas_job = plan.incident(title="Boiler", skills=["gas"], region="north")
    wire_job = plan.incident(title="Wiring", skills=["electric"], region="north")
    exotic = plan.incident(title="Reactor", skills=["nuclear"], region="south")
    created = request_day(plan.scheduler, plan.day, time_limit_ms=1000, weights={"travel": 2, "balance": 1})
    body = poll(plan.scheduler, created)
    assert body["status"] == "succeeded" and body["progress"] == 100, body["error"]
    result = body["result"]
    placed = {a["work_item"]["id"]: a["person_id"] for a in result["assignments"]}
    assert placed == {str(gas_job.pk): str(plan.gas.pk), str(wire_job.pk): str(plan.electric.pk)}
    assert result["unassigned"] == [
        {
            "work_item": {"type": "incident", "id": str(exotic.pk)},
            "title": "Reactor",
            "region": "south",
            "reason": "skill_missing",
            "detail": "nobody has nuclear",
        }
    ]
    assert result["score"] > 0 and result["algorithm"] == "routing"
    assert proposal_is_valid(plan, result) == []

    run = OptimizationRun.objects.get(pk=result["run_id"])
    assert run.status == "succeeded" and run.algorithm == "routing" and run.request_id is not None
    runs = plan.frontdesk.get("/v1/optimization-runs", {"date": plan.day.isoformat()}).json()["results"]
    assert [r["id"] for r in runs] == [str(run.pk)]

    conflict = ScheduleConflict.objects.get(schedule_id=result["schedule_id"])
    assert (conflict.type, conflict.work_ref, conflict.region) == ("skill_missing", f"incident:{exotic.pk}", "south")
    listed = plan.frontdesk.get("/v1/schedule-conflicts", {"date": plan.day.isoformat(), "region": "south"})
    assert [c["id"] for c in listed.json()["results"]] == [str(conflict.pk)]
    assert plan.frontdesk.get("/v1/schedule-conflicts", {"region": "north"}).json()["results"] == []

    # accept the proposal under the schedule's rev
    stale = plan.scheduler.post(f"/v1/schedule-requests/{body['id']}/apply", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    applied = plan.scheduler.post(f"/v1/schedule-requests/{body['id']}/apply", HTTP_IF_MATCH=f'"{result["base_rev"]}"')
    assert applied.status_code == 200, applied.content
    assert applied["ETag"] == f'"{result["base_rev"] + 1}"'
    assert {a["work_item"]["id"] for a in applied.json()["assignments"]} == {str(gas_job.pk), str(wire_job.pk)}
    again = plan.scheduler.post(f"/v1/schedule-requests/{body['id']}/apply", HTTP_IF_MATCH=applied["ETag"])
    assert again.status_code == 409 and again.json()["code"] == "PROPOSAL_STALE"


def test_over_constrained_day_is_stored_not_failed(plan):
    # one gas fitter, 08–17: nine 60-minute gas jobs fit, twelve do not
    jobs = [plan.incident(title=f"Gas {i}", skills=["gas"]) for i in range(12)]
    plan.incident(title="Reactor", skills=["nuclear"])
    body = poll(plan.scheduler, request_day(plan.scheduler, plan.day, time_limit_ms=1500, algorithm="routing"))
    assert body["status"] == "succeeded", body["error"]
    reasons = [u["reason"] for u in body["result"]["unassigned"]]
    assert reasons.count("skill_missing") == 1 and reasons.count("over_capacity") >= 3
    assert len(body["result"]["assignments"]) + len(reasons) == len(jobs) + 1
    types = set(ScheduleConflict.objects.filter(org=plan.org, resolved=False).values_list("type", flat=True))
    assert types == {"skill_missing", "over_capacity"}
    assert proposal_is_valid(plan, body["result"]) == []


def test_pinned_assignments_are_kept(plan):
    near = plan.incident(title="Near the gas fitter", skills=[])
    pinned_job = plan.incident(title="Pinned", skills=[])
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    pin = item(plan.electric, pinned_job, at(plan.day, 15), at(plan.day, 16), pinned=True)
    assert put_assignments(plan.scheduler, sid, 1, [pin]).status_code == 200
    extra_pin = {
        "work_item": {"type": "incident", "id": str(near.pk)},
        "person_id": str(plan.gas.pk),
        "start": at(plan.day, 8).isoformat(),
        "end": at(plan.day, 9).isoformat(),
    }
    for algorithm in ("routing", "greedy"):
        body = poll(plan.scheduler, request_day(plan.scheduler, plan.day, algorithm=algorithm, pinned=[extra_pin]))
        got = {a["work_item"]["id"]: a for a in body["result"]["assignments"]}
        assert got[str(pinned_job.pk)]["person_id"] == str(plan.electric.pk)
        assert got[str(pinned_job.pk)]["start"] == at(plan.day, 15).isoformat() and got[str(pinned_job.pk)]["pinned"]
        assert got[str(near.pk)]["person_id"] == str(plan.gas.pk)
        assert got[str(near.pk)]["start"] == at(plan.day, 8).isoformat()


@pytest.mark.parametrize(
    "constraints",
    [
        {"colour": "red"},
        {"time_limit_ms": 10},
        {"algorithm": "annealing"},
        {"weights": {"travel": -1}},
        {"weights": {"speed": 1}},
        {"people": ["not-a-uuid"]},
        {"people": ["0190d2a4-0000-7000-8000-000000000000"]},
        {"team": "no-such-team"},
        {
            "pinned": [
                {
                    "work_item": {"type": "incident", "id": "x"},
                    "person_id": "0190d2a4-0000-7000-8000-000000000000",
                    "start": "2026-01-01T10:00:00Z",
                    "end": "2026-01-01T11:00:00Z",
                }
            ]
        },
    ],
)
def test_constraints_are_validated(plan, constraints):
    response = plan.scheduler.post(
        "/v1/schedule-requests", {"date": plan.day.isoformat(), "constraints": constraints}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert not ScheduleRequest.objects.exists()


def test_constraints_are_documented(plan):
    schema = plan.scheduler.get("/openapi.json").json()
    constraints = schema["components"]["schemas"]["ConstraintsRequest"]["properties"]
    assert {"team", "people", "time_limit_ms", "algorithm", "weights", "pinned"} <= set(constraints)
    assert {"travel", "balance", "priority"} <= set(schema["components"]["schemas"]["WeightsRequest"]["properties"])


def test_synchronous_optimization(plan):
    job = plan.incident(skills=["gas"])
    response = plan.scheduler.get(
        "/v1/schedule-optimization", {"date": plan.day.isoformat(), "time_limit_ms": 500, "travel": 2}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [a["work_item"]["id"] for a in body["assignments"]] == [str(job.pk)]
    assert OptimizationRun.objects.filter(pk=body["run_id"], request__isnull=True).exists()
    assert proposal_is_valid(plan, body) == []
    for bad in (
        {},
        {"date": "2026-13-01"},
        {"date": plan.day.isoformat(), "speed": 1},
        {"date": plan.day.isoformat(), "time_limit_ms": 1},
    ):
        assert plan.scheduler.get("/v1/schedule-optimization", bad).status_code == 400, bad


def test_resolutions(plan):
    job = plan.incident(title="Boiler", skills=["gas"])
    other = plan.incident(title="Socket", skills=["electric"])
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    # a manual plan with two mistakes: the boiler on the electrician, the socket at night
    items = [
        item(plan.electric, job, at(plan.day, 9), at(plan.day, 10)),
        item(plan.electric, other, at(plan.day, 20), at(plan.day, 21)),
    ]
    assert put_assignments(plan.scheduler, sid, 1, items).status_code == 200
    conflicts = {c.type: c for c in ScheduleConflict.objects.filter(schedule_id=sid, resolved=False)}
    assert set(conflicts) == {"skill_missing", "outside_availability"}

    def resolve(conflict, rev, **body):
        return plan.scheduler.post(
            "/v1/schedule-conflicts/resolve",
            {"conflict_id": str(conflict.pk), **body},
            format="json",
            **({"HTTP_IF_MATCH": f'"{rev}"'} if rev is not None else {}),
        )

    assert (
        resolve(conflicts["skill_missing"], None, resolution="reassign", person_id=str(plan.gas.pk)).status_code == 428
    )
    assert resolve(conflicts["skill_missing"], 1, resolution="reassign", person_id=str(plan.gas.pk)).status_code == 412
    assert resolve(conflicts["skill_missing"], 2, resolution="reassign").status_code == 400  # no person

    fixed = resolve(conflicts["skill_missing"], 2, resolution="reassign", person_id=str(plan.gas.pk))
    assert fixed.status_code == 200, fixed.content
    assert fixed["ETag"] == '"3"' and fixed.json()["conflict"]["status"] == "resolved"
    assert {c["type"] for c in fixed.json()["open_conflicts"]} == {"outside_availability"}
    night = ScheduleConflict.objects.get(schedule_id=sid, resolved=False)

    moved = resolve(night, 3, resolution="reschedule", start=at(plan.day, 11).isoformat())
    assert moved.status_code == 200 and moved.json()["open_conflicts"] == []
    socket = next(a for a in moved.json()["schedule"]["assignments"] if a["work_item"]["id"] == str(other.pk))
    assert (socket["start"], socket["end"]) == (
        at(plan.day, 11).isoformat().replace("+00:00", "Z"),
        at(plan.day, 12).isoformat().replace("+00:00", "Z"),
    )
    assert resolve(night, 4, resolution="accept").json()["code"] == "CONFLICT_RESOLVED"

    # drop and accept
    items = [item(plan.gas, other, at(plan.day, 9), at(plan.day, 10))]  # the gas fitter lacks electric
    assert put_assignments(plan.scheduler, sid, 4, items).status_code == 200
    wrong = ScheduleConflict.objects.get(schedule_id=sid, resolved=False)
    dropped = resolve(wrong, 5, resolution="drop")
    assert dropped.status_code == 200 and dropped.json()["schedule"]["assignments"] == []
    assert put_assignments(plan.scheduler, sid, 6, items).status_code == 200
    wrong = ScheduleConflict.objects.get(schedule_id=sid, resolved=False)
    accepted = resolve(wrong, 7, resolution="accept")
    assert accepted.status_code == 200 and accepted.json()["open_conflicts"] == []
    assert len(accepted.json()["schedule"]["assignments"]) == 1

    # another org's conflict is a 404, whatever the rev
    stranger = key_client(MembershipFactory(org=OrgFactory(), role="owner"))
    response = stranger.post(
        "/v1/schedule-conflicts/resolve",
        {"conflict_id": str(wrong.pk), "resolution": "accept"},
        format="json",
        HTTP_IF_MATCH='"8"',
    )
    assert response.status_code == 404


def test_live_conflict_check_still_answers_on_the_same_endpoint(plan):
    response = plan.member.get(
        "/v1/schedule-conflicts",
        {"start": at(plan.day, 0).isoformat(), "end": at(plan.day, 23).isoformat()},
    )
    # the list's envelope (one page: no links) plus the count
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "count": 0, "results": []}


def test_a_booking_for_a_planned_day_replans_without_overwriting_a_manual_edit(plan):
    job = plan.incident(skills=["gas"])
    sid = create_schedule(plan.scheduler, plan.day).json()["id"]
    manual = [item(plan.electric, job, at(plan.day, 14), at(plan.day, 15))]
    assert put_assignments(plan.scheduler, sid, 1, manual).status_code == 200

    publish_on_commit(  # what booking_hold publishes (the reference's reservation.created)
        org=plan.org, type="booking.created", data={"id": "b1", "start_at": at(plan.day, 10).isoformat()}
    )
    replan = ScheduleRequest.objects.get(org=plan.org, source="event")
    assert replan.trigger.startswith("booking.created:") and replan.status == "succeeded"
    assert replan.base_rev == 2
    proposed = {a["work_item"]["id"]: a["person_id"] for a in replan.result["assignments"]}
    assert proposed[str(job.pk)] == str(plan.gas.pk)  # the optimizer would move it …
    schedule = DailySchedule.objects.get(pk=sid)
    assert schedule.rev == 2 and schedule.assignments.get().person_id == plan.electric.pk  # … but did not

    # a manual edit after the proposal: applying it is refused, the edit stays
    manual = [item(plan.electric, job, at(plan.day, 16), at(plan.day, 17))]
    assert put_assignments(plan.scheduler, sid, 2, manual).status_code == 200
    refused = plan.scheduler.post(f"/v1/schedule-requests/{replan.pk}/apply", HTTP_IF_MATCH='"3"')
    assert refused.status_code == 409 and refused.json()["code"] == "PROPOSAL_STALE"
    assert DailySchedule.objects.get(pk=sid).assignments.get().start == at(plan.day, 16)

    # a second event while one re-plan waits is folded into it (debounce)
    ScheduleRequest.objects.filter(pk=replan.pk).update(status="queued")
    publish_on_commit(org=plan.org, type="booking.created", data={"id": "b2", "start_at": at(plan.day, 11).isoformat()})
    assert ScheduleRequest.objects.filter(org=plan.org, source="event").count() == 1


def test_an_alert_replans_today_and_unplanned_days_are_left_alone(plan):
    publish_on_commit(org=plan.org, type="signal.alert", data={"text": "flood"})
    assert not ScheduleRequest.objects.exists()  # no schedule for today: nothing to re-plan
    today = timezone.now().astimezone(ZoneInfo(plan.org.timezone)).date()
    DailySchedule.objects.create(org=plan.org, date=today)
    publish_on_commit(org=plan.org, type="signal.alert", data={"text": "flood"})
    replan = ScheduleRequest.objects.get(org=plan.org, source="event")
    assert replan.date == today and replan.trigger.startswith("signal.alert:")


def test_other_orgs_see_none_of_it(plan):
    plan.incident(skills=["nuclear"])
    body = poll(plan.scheduler, request_day(plan.scheduler, plan.day))
    stranger_org = OrgFactory()
    make_worker(stranger_org, make_site(stranger_org), skills=["nuclear"])
    make_incident(stranger_org)
    stranger = key_client(MembershipFactory(org=stranger_org, role="owner"))
    assert stranger.get(f"/v1/schedule-requests/{body['id']}").status_code == 404
    assert stranger.post(f"/v1/schedule-requests/{body['id']}/apply", HTTP_IF_MATCH='"1"').status_code == 404
    assert stranger.get(f"/v1/daily-schedules/{body['result']['schedule_id']}").status_code == 404
    assert stranger.get(f"/v1/optimization-runs/{body['result']['run_id']}").status_code == 404
    assert stranger.get("/v1/schedule-conflicts").json()["results"] == []
    theirs = stranger.get("/v1/schedule-optimization", {"date": plan.day.isoformat(), "time_limit_ms": 300}).json()
    assert theirs["unassigned"] == [] and theirs["people"] == 1  # their own day only


def test_work_requirements_drive_the_demand(plan):
    job = plan.incident(title="Needs gas later")  # no skills yet
    url = "/v1/work-requirements"
    body = {
        "work_item": {"type": "incident", "id": str(job.pk)},
        "skills": ["gas"],
        "duration_minutes": 90,
        "window_start": at(plan.day, 13).isoformat(),
        "window_end": at(plan.day, 16).isoformat(),
    }
    updated = plan.scheduler.post(url, body, format="json")
    assert updated.status_code == 200  # the factory made one: one requirement per work item
    assert updated.json()["skills"] == ["gas"] and updated.json()["duration_minutes"] == 90
    assert plan.frontdesk.post(url, body, format="json").status_code == 403
    bad = plan.scheduler.post(url, {**body, "window_end": at(plan.day, 12).isoformat()}, format="json")
    assert bad.status_code == 400
    result = plan.scheduler.get("/v1/schedule-optimization", {"date": plan.day.isoformat(), "time_limit_ms": 300})
    (placed,) = result.json()["assignments"]
    assert placed["person_id"] == str(plan.gas.pk)
    start, end = datetime.fromisoformat(placed["start"]), datetime.fromisoformat(placed["end"])
    assert at(plan.day, 13) <= start and end <= at(plan.day, 16) and end - start == timedelta(minutes=90)
    rid = updated.json()["id"]
    assert plan.scheduler.delete(f"{url}/{rid}").status_code == 204
