"""Dispatch over the production topology: real uvicorn processes, Redis (channel layer,
cache, broker) and real Celery worker processes.

- alert POST → incident → outbox → worker → auto-dispatch → the responder's websocket
  receives `dispatch.offered`, with no human step;
- 20 concurrent dispatches over 2 server processes never double-offer a responder;
- a worker killed while an escalation waits: the timer row is fired by the beat sweep of
  the next worker, so the chain still moves on."""

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import websockets
from django.db import connections

from apps.dispatch.models import Assignment, Dispatch
from apps.orgs.models import Org, Role
from tests.conftest import key_client
from tests.dispatch.factories import BASE, make_policy, make_responder
from tests.factories import MembershipFactory
from tests.incidents.factories import make_incident
from tests.servers import ROOT, asgi_server, server_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def production_env(**extra):
    return server_env(CELERY_TASK_ALWAYS_EAGER="false", **extra)


@contextmanager
def celery_worker(env, *, beat_dir=None):
    args = [sys.executable, "-m", "celery", "-A", "schedkit", "worker", "-P", "solo", "-l", "INFO"]
    args += ["--without-mingle", "--without-gossip"]
    if beat_dir is not None:
        args += ["-B", "-s", str(beat_dir / "celerybeat-schedule")]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.output = []
    threading.Thread(target=lambda: proc.output.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        assert wait_for(lambda: any(" ready." in line for line in proc.output), timeout=60), "".join(proc.output)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


async def next_of_type(ws, kind, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
        if message.get("type") == kind:
            return message


def test_alert_is_dispatched_with_no_human_step(org):
    Org.objects.filter(pk=org.pk).update(settings={"auto_dispatch": True})
    responder = make_responder(org, at=(BASE[0] + 0.01, BASE[1]), skills=["first_aid"])
    make_responder(org, at=(BASE[0] + 0.2, BASE[1]), skills=["first_aid"])
    make_responder(org, at=BASE, skills=[])  # nearest, but lacks the skill
    sender = MembershipFactory(org=org, role=Role.MEMBER)
    responder_key = key_client(responder.membership).raw_key
    sender_key = key_client(sender).raw_key
    env = production_env()
    with asgi_server(env) as server, celery_worker(env):

        async def scenario():
            headers = {"Authorization": f"Bearer {responder_key}"}
            async with websockets.connect(f"{server.ws_url}/ws/orgs/{org.slug}/", additional_headers=headers) as ws:
                async with httpx.AsyncClient(base_url=server.base_url) as http:
                    response = await http.post(
                        "/v1/signals",
                        json={
                            "type": "alert",
                            "title": "Collapse at gate 4",
                            "lat": BASE[0],
                            "lng": BASE[1],
                            "data": {"required_skills": ["first_aid"]},
                        },
                        headers={"Authorization": f"Bearer {sender_key}"},
                    )
                    assert response.status_code == 201, response.text
                offered = await next_of_type(ws, "dispatch.offered")
                # the responder acknowledges on the same socket
                assignment_id = offered["data"]["assignment"]["id"]
                await ws.send(json.dumps({"type": "assignment.ack", "assignment_id": assignment_id, "ref": "a1"}))
                reply = await next_of_type(ws, "assignment.updated")
                assert reply["ref"] == "a1" and reply["assignment"]["state"] == "acknowledged"
                acknowledged = await next_of_type(ws, "dispatch.acknowledged")
                return offered, acknowledged

        try:
            offered, acknowledged = asyncio.run(scenario())
        except Exception:
            from apps.events.models import Event

            print("".join(server.output))
            print("EVENTS", list(Event.objects.values_list("type", "dispatched_at")))
            print("RUNS", list(Dispatch.objects.values_list("state", flat=True)))
            raise
    assert offered["data"]["assignment"]["membership_id"] == str(responder.membership_id)
    assert acknowledged["data"]["assignment"]["state"] == "acknowledged"
    run = Dispatch.objects.get()
    assert run.started_by == "auto-dispatch" and run.incident.required_skills == ["first_aid"]
    assert run.incident.activity.filter(verb="dispatched").count() >= 2


def test_concurrent_dispatches_over_two_processes_never_double_offer(org):
    people = [make_responder(org, at=(BASE[0] + i * 0.01, BASE[1])) for i in range(10)]
    make_policy(org, steps=[{"type": "offer"}], repeat=1, max_concurrent=1)
    incidents = [make_incident(org, title=f"job {i}", lat=BASE[0], lng=BASE[1]) for i in range(20)]
    key = key_client(MembershipFactory(org=org, role=Role.SCHEDULER)).raw_key
    connections.close_all()
    env = server_env()
    with asgi_server(env) as a, asgi_server(env) as b:

        def dispatch(index):
            server = (a, b)[index % 2]
            response = httpx.post(
                f"{server.base_url}/v1/incidents/{incidents[index].pk}/dispatch",
                json={},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(dispatch, range(20)))
    assert all(status == 201 for status, _ in results), results
    offers = list(Assignment.objects.filter(state="offered").values_list("person_id", flat=True))
    assert len(offers) == len(set(offers)) == 10  # every responder offered exactly once
    assert set(offers) == {p.pk for p in people}
    assert Dispatch.objects.filter(state="exhausted").count() == 10


def test_killed_worker_during_a_wait_still_escalates(org, tmp_path):
    first, second = make_responder(org, at=(BASE[0] + 0.01, BASE[1])), make_responder(org, at=(BASE[0] + 0.1, BASE[1]))
    make_policy(org, steps=[{"type": "offer"}, {"type": "offer"}], repeat=1, ack_timeout_seconds=3)
    incident = make_incident(org, lat=BASE[0], lng=BASE[1])
    key = key_client(MembershipFactory(org=org, role=Role.SCHEDULER)).raw_key
    env = production_env()
    with asgi_server(env) as server:
        with celery_worker(env) as worker:
            response = httpx.post(
                f"{server.base_url}/v1/incidents/{incident.pk}/dispatch",
                json={},
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            assert response.json()["offered"][0]["person"] == str(first.pk)
            time.sleep(1.0)  # the ETA task is now reserved by this worker
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        time.sleep(3)
        assert Assignment.objects.get(person=first).state == "offered"  # due, and nobody fired it
        # the next worker's beat sweep finds the overdue timer row
        with celery_worker(env, beat_dir=tmp_path) as rescuer:
            moved = wait_for(lambda: Assignment.objects.filter(person=second, state="offered").exists(), timeout=40)
            assert moved, "".join(rescuer.output)
    assert Assignment.objects.get(person=first).state == "timed_out"
