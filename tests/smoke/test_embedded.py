"""Smoke run of the embedded default: no DATABASE_URL, no REDIS_URL, nothing installed.
The real server process migrates, seeds, serves HTTP and websockets, and its in-process
Celery worker sends the sign-in email and dispatches events."""

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest
import websockets

from tests.servers import ROOT, asgi_server

pytestmark = pytest.mark.smoke

SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "EMBEDDED_WORKER",
    "EMAIL_BACKEND",
    "TEST_DATABASE_NAME",
)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    var = tmp_path_factory.mktemp("embedded-var")
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and not k.startswith("PYTEST")}
    env.update(SCHEDKIT_VAR_DIR=str(var), LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    seeded = subprocess.run([*manage, "seed_demo"], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    key = re.search(r"(sk_live_\S+)", seeded.stdout).group(1)
    with asgi_server(env) as server:
        server.api_key = key
        server.db_path = var / "schedkit.sqlite3"
        yield server


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    return None


def test_embedded_is_healthy_and_ready(embedded):
    assert httpx.get(f"{embedded.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{embedded.base_url}/readyz")
    assert ready.status_code == 200, ready.text
    assert embedded.db_path.exists()


def test_embedded_sign_in_by_code_through_the_in_process_worker(embedded):
    with httpx.Client(base_url=embedded.base_url) as client:
        response = client.post("/v1/auth/login", json={"email": "owner@demo.schedkit.local"})
        assert response.status_code == 202
        code = wait_for(lambda: (re.findall(r"sign-in code is (\d{6})", "".join(embedded.output)) or [None])[-1])
        assert code, "the embedded worker did not send the email"
        assert (
            client.post("/v1/auth/verify", json={"email": "owner@demo.schedkit.local", "code": code}).status_code == 200
        )
        me = client.get("/v1/auth/me").json()
        assert me["email"] == "owner@demo.schedkit.local" and me["memberships"][0]["org"] == "demo"
        assert client.get("/admin/").status_code == 200
        assert client.get("/docs").status_code == 200


def test_embedded_websocket_and_event_dispatch(embedded):
    headers = {"Authorization": f"Bearer {embedded.api_key}"}

    async def scenario():
        async with websockets.connect(f"{embedded.ws_url}/ws/orgs/demo/", additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"
            async with httpx.AsyncClient() as http:
                response = await http.post(
                    f"{embedded.base_url}/v1/orgs/demo/teams", headers=headers, json={"slug": "smoke", "name": "Smoke"}
                )
                assert response.status_code == 201, response.text
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert event["type"] == "team.created" and event["data"]["slug"] == "smoke"
            return event["id"]

    event_id = asyncio.run(scenario())

    def dispatched():
        with sqlite3.connect(embedded.db_path) as db:
            row = db.execute(
                "SELECT dispatched_at FROM events_event WHERE id = ?", (event_id.replace("-", ""),)
            ).fetchone()
        return row and row[0]

    assert wait_for(dispatched), "the embedded worker did not dispatch the event"
