"""The schedule request job on a real Celery worker consuming the Redis broker: the POST
answers `queued`, the worker takes it through running to succeeded."""

import time

import pytest

from apps.planning.models import ScheduleRequest
from tests.test_events import celery_worker_thread  # noqa: F401 - the shared real-worker fixture

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_request_runs_on_a_real_worker(plan, celery_worker_thread):  # noqa: F811
    job = plan.incident(skills=["gas"])
    response = plan.scheduler.post(
        "/v1/schedule-requests",
        {"date": plan.day.isoformat(), "constraints": {"time_limit_ms": 500}},
        format="json",
    )
    assert response.status_code == 202 and response.json()["status"] == "queued"
    deadline = time.monotonic() + 30
    body = {}
    while time.monotonic() < deadline:
        body = plan.frontdesk.get(response["Location"]).json()
        if body["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert body["status"] == "succeeded", body
    assert body["progress"] == 100 and body["started_at"] and body["completed_at"]
    assert [a["work_item"]["id"] for a in body["result"]["assignments"]] == [str(job.pk)]
    assert ScheduleRequest.objects.get(pk=body["id"]).runs.count() == 1
