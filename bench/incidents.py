"""Incidents benchmark (run it through `bench/run incidents`).

Reuses bench/foundation.py's machinery (fresh database, uvicorn workers, wrk parsing) with its
own database `schedkit_bench_incidents` and Redis DB 7. Seeds 10,000 incidents in the demo
org, then measures at 50 connections:

  bare     bench/bare's JSON and one-query DRF views, served the same way (the reference)
  healthz  GET /healthz
  list     GET /v1/incidents?status=open&priority=high    API key, org-scoped, 50 per page
  create   POST /v1/incidents                             outbox row + broadcast per create

During the create run a websocket client on /ws/orgs/demo/ counts the incident.created
events it receives, so "with broadcast" is checked, not assumed. Prints req/s, p50/p99,
list/bare ratio; writes bench/results/incidents.json.
"""

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foundation as fd  # noqa: E402

fd.configure("incidents", 7)
INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", "10000"))
CREATE_DURATION = os.environ.get("BENCH_CREATE_DURATION", "10s")
LIST_PATH = "/v1/incidents?status=open&priority=high"

SEED_INCIDENTS = f"""
import secrets
from datetime import timedelta
from django.utils import timezone
from apps.incidents.models import Incident
from apps.incidents.services import sla_due
from apps.orgs.models import Membership, Org
org = Org.objects.get(slug={fd.ORG!r})
members = list(Membership.objects.filter(org=org, role="member")[:20])
statuses = ["open", "open", "in_progress", "resolved", "closed"]
priorities = ["low", "normal", "normal", "high", "urgent"]
now = timezone.now()
rows = []
for i in range({INCIDENTS}):
    created = now - timedelta(minutes=i)
    priority = priorities[i % 5 if i % 7 else 3]
    rows.append(Incident(
        org=org, created_at=created, title=f"Bench incident {{i}}", description="seeded",
        status=statuses[(i // 5) % 5], priority=priority, sla_due_at=sla_due(org, priority, created),
        customer_token=secrets.token_urlsafe(24), reply_token=secrets.token_hex(8),
        location_name=f"Site {{i % 40}}",
    ))
Incident.objects.bulk_create(rows, batch_size=1000)
Through = Incident.assignees.through
links = [Through(incident_id=inc.pk, membership_id=members[n % len(members)].pk) for n, inc in enumerate(rows) if n % 2]
Through.objects.bulk_create(links, batch_size=2000)
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ANALYZE incidents_incident; ANALYZE incidents_incident_assignees")
print("incidents:", Incident.objects.filter(org=org).count(),
      "open+high:", Incident.objects.filter(org=org, status="open", priority="high").count())
"""

CREATE_LUA = """-- POST one incident per request with the demo API key.
local key = os.getenv("BENCH_API_KEY")
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = '{"title": "wrk incident ' .. n .. '", "priority": "high", "location_name": "Bench"}'
  return wrk.format(nil, nil, nil, body)
end
"""


def counts() -> tuple[int, int]:
    """(incidents, incident.created outbox events) in the database."""
    out = fd.manage(
        "shell",
        "-c",
        "from apps.incidents.models import Incident; from apps.events.models import Event; "
        "print(Incident.objects.count(), Event.objects.filter(type='incident.created').count())",
    )
    incidents, events = out.strip().splitlines()[-1].split()
    return int(incidents), int(events)


def seed() -> None:
    fd.step(f"{INCIDENTS} incidents in org {fd.ORG}")
    out = fd.manage("shell", "-c", SEED_INCIDENTS)
    print("   " + next(line for line in out.splitlines() if line.startswith("incidents:")), flush=True)


def verify_list(url: str, key: str) -> None:
    response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    body = response.json()
    if response.status_code != 200 or len(body.get("results", [])) != fd.PAGE_SIZE or not body.get("next"):
        raise fd.BenchError(f"GET {url} -> {response.status_code}: {response.text[:500]}")
    if any(r["status"] != "open" or r["priority"] != "high" for r in body["results"]):
        raise fd.BenchError(f"GET {url}: filter not applied")
    fd.step(f"verified {url}: 200, {len(body['results'])} open+high incidents, next cursor present")


class EventCounter:
    """A websocket subscriber on the org stream, counting incident.created events."""

    def __init__(self, ws_url: str, key: str):
        self.url, self.key = ws_url, key
        self.count = 0
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self):
        import websockets

        async with websockets.connect(self.url, additional_headers={"Authorization": f"Bearer {self.key}"}) as ws:
            self.ready.set()
            while not self.stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                if json.loads(message).get("type") == "incident.created":
                    self.count += 1

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(10):
            raise fd.BenchError("websocket subscriber did not connect")
        return self

    def __exit__(self, *exc):
        time.sleep(1.0)  # let the last broadcasts arrive
        self.stop.set()
        self.thread.join(5)


def main() -> int:
    fd.RESULTS.mkdir(parents=True, exist_ok=True)
    key = fd.prepare_data()
    seed()
    busy = fd.warn_if_busy()
    bare = fd.bare_reference("incidents")
    server = fd.Server(fd.WORKERS, fd.RESULTS / "server-incidents.log")
    lua = Path(tempfile.mkdtemp(prefix="bench-incidents-")) / "create.lua"
    lua.write_text(CREATE_LUA)
    fd.signal.signal(fd.signal.SIGTERM, lambda *_: sys.exit(143))
    results = {}
    try:
        server.start()
        list_url = f"{server.base}{LIST_PATH}"
        verify_list(list_url, key)
        env = {**os.environ, "BENCH_API_KEY": key}
        results["bare"] = {
            "endpoint": "GET /healthz",
            **fd.measure("incidents-bare", f"{server.base}/healthz", None, env),
        }
        results["list"] = {
            "endpoint": f"GET {LIST_PATH}",
            **fd.measure("incidents-list", list_url, fd.BENCH / "auth.lua", env),
        }
        before, events_before = counts()
        fd.step(f"create: {CREATE_DURATION} at {fd.CONNECTIONS} connections, websocket subscriber counting events")
        ws_url = f"ws://127.0.0.1:{server.port}/ws/orgs/{fd.ORG}/"
        with EventCounter(ws_url, key) as counter:
            output = fd.wrk(f"{server.base}/v1/incidents", CREATE_DURATION, lua, env)
        (fd.RESULTS / "wrk-incidents-create.txt").write_text(output)
        created = fd.parse_wrk(output)
        after, events_after = counts()
        results["create"] = {
            "endpoint": "POST /v1/incidents",
            **created,
            "rows_created": after - before,
            "outbox_events": events_after - events_before,
            "broadcasts_received": counter.count,
        }
        if created["errors"]:
            raise fd.BenchError(f"create: {created['errors']} errors:\n{output}")
    finally:
        server.stop()

    healthz, listing, create = results["bare"], results["list"], results["create"]
    ratio = fd.ratio_pct(listing, bare["drf"])
    print()
    fd.print_table(
        [
            (bare["json"], None),
            (bare["drf"], None),
            (healthz, bare["json"]),
            (listing, bare["drf"]),
            (create, bare["drf"]),
        ],
        f"Incidents benchmark: {INCIDENTS} incidents, {fd.WORKERS} {fd.SERVER_KIND} workers each (SchedKit, bare), "
        f"wrk -t{fd.THREADS} -c{fd.CONNECTIONS}, {os.cpu_count()} cores, ratios to the bare reference of this run",
    )
    targets = {
        "list_pct_of_bare_drf": fd.target(ratio, ">=", 30),
        "list_p99_ms": fd.target(listing["p99_ms"], "<=", 50),
    }
    print()
    fd.print_targets(targets)
    print(
        f"creates: {create['requests']} completed in wrk's window, {create['rows_created']} rows, "
        f"{create['outbox_events']} incident.created outbox events, "
        f"{create['broadcasts_received']} received by the websocket subscriber"
    )
    problems = fd.server_log_problems(server.log_path)
    if problems:
        print(f"\nserver log has {len(problems)} warning/error line(s), first ones:")
        for line in problems[:5]:
            print("   " + line[:300])
    summary = {
        "benchmark": "incidents",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {
            "incidents": INCIDENTS,
            "workers": fd.WORKERS,
            "duration": fd.DURATION,
            "create_duration": CREATE_DURATION,
            "connections": fd.CONNECTIONS,
            "cores": os.cpu_count(),
        },
        "cpu_busy_pct_before": round(busy, 1),
        "bare": bare,
        "results": results,
        "ratio_list_bare_pct": ratio,
        "targets": targets,
        "server_log_problems": len(problems),
    }
    out = fd.RESULTS / "incidents.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(fd.ROOT)}")
    return 0


if __name__ == "__main__":
    fd.run_main(main)
