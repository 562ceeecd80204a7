"""Schedule benchmark (run it through `bench/run schedule`).

Reuses bench/foundation.py's machinery with its own database (schedkit_bench_schedule) and
Redis DB 10, loopback only. Seeds 1,000 recurring masters (mixed daily/weekly/monthly, some
COUNT/UNTIL, some with overrides) whose DTSTART is 10 years back, then measures the month view
(GET /v1/schedule-entries?start=&end= over 31 days):

  server     in-process: selector + rendering time p50/p99 and the query count, with the
             fast-forward on, and once with it off (iterating every series from DTSTART)
  http       sequential GETs against uvicorn: month view p50/p99 beside bare /healthz
  healthz    wrk at 50 connections on /healthz (the same baseline foundation uses)

Prints the figures and writes bench/results/schedule.json.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foundation as fd  # noqa: E402

fd.DB_NAME = "schedkit_bench_schedule"
fd.REDIS_URL = "redis://127.0.0.1:6379/10"
fd.EXTRA_MEMBERS = 0
fd.APP_ENV = {
    **fd.APP_ENV,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{fd.DB_NAME}",
    "REDIS_URL": fd.REDIS_URL,
    "REDIS_KEY_PREFIX": "bench-schedule",
}
fd.DURATION = os.environ.get("BENCH_DURATION", "10s")
MASTERS = int(os.environ.get("BENCH_MASTERS", "1000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "30"))
WINDOW = ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")

SEED = """
import json, statistics, time
from datetime import UTC, datetime, timedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from apps.accounts.models import User
from apps.orgs.models import Membership, Org
from apps.orgs.tenancy import Actor
from apps.scheduling import recurrence
from apps.scheduling.api.entry_serializers import render_instance
from apps.scheduling.models import ScheduleEntry, ScheduleOverride
from apps.scheduling.selectors import schedule_instances

org = Org.objects.get(slug="demo")
owner = Membership.objects.get(org=org, user__username="owner")
people = [owner]
for i in range(24):
    user = User.objects.create_user(f"tech{i:02d}@bench.schedkit.local")
    people.append(Membership.objects.create(org=org, user=user, role="member"))
RULES = [
    "FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=MONTHLY;BYDAY=1MO", "FREQ=WEEKLY;INTERVAL=2",
    "FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=DAILY;COUNT=400", "FREQ=WEEKLY;UNTIL=20271231T000000Z",
    "FREQ=DAILY;INTERVAL=3", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=2000",
]
ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"]
entries = []
base = datetime(2016, 3, 7, 6, 0, tzinfo=UTC)
for i in range(__MASTERS__):
    start = base + timedelta(days=i % 7, hours=i % 10)
    end = start + timedelta(minutes=30 + 15 * (i % 4))
    rule, zone = RULES[i % len(RULES)], ZONES[i % len(ZONES)]
    rule = recurrence.normalize_rrule(rule, timezone=zone)
    entries.append(ScheduleEntry(
        org=org, title=f"Round {i}", start=start, end=end, timezone=zone, rrule=rule,
        series_end=recurrence.series_end(rule, start, end, zone), private=(i % 9 == 0),
    ))
ScheduleEntry.objects.bulk_create(entries, batch_size=500)
Through = ScheduleEntry.assignees.through
Through.objects.bulk_create(
    [Through(scheduleentry_id=e.pk, membership_id=people[i % len(people)].pk) for i, e in enumerate(entries)]
    + [Through(scheduleentry_id=e.pk, membership_id=people[(i + 7) % len(people)].pk)
       for i, e in enumerate(entries) if i % 3 == 0],
    batch_size=1000,
)
ws, we = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
overrides = []
for i, e in enumerate(entries):
    if i % 4:
        continue
    for original in recurrence.occurrence_starts(e.rrule, e.start, e.end, e.timezone, ws, we)[:3]:
        moved = i % 8 == 0
        overrides.append(ScheduleOverride(
            org=org, master=e, original_start=original, cancelled=not moved,
            title="Moved" if moved else "", start=original + timedelta(hours=1) if moved else None,
            end=original + timedelta(hours=1) + (e.end - e.start) if moved else None,
        ))
ScheduleOverride.objects.bulk_create(overrides, batch_size=1000)

actor = Actor(user=owner.user, org=org, role=owner.role, membership_id=owner.pk)

def run_once():
    instances = schedule_instances(fetched_by=actor, start=ws, end=we)
    return [render_instance(i) for i in instances]

run_once()
with CaptureQueriesContext(connection) as ctx:
    body = run_once()
queries = len(ctx.captured_queries)
times = []
for _ in range(__REPEATS__):
    t0 = time.perf_counter(); run_once(); times.append((time.perf_counter() - t0) * 1000)
times.sort()
real_ff = recurrence._fast_forward
recurrence._fast_forward = lambda rule, parts, dtstart, target: rule
slow = []
for _ in range(3):
    t0 = time.perf_counter(); slow_body = run_once(); slow.append((time.perf_counter() - t0) * 1000)
recurrence._fast_forward = real_ff
assert [r["id"] for r in slow_body] == [r["id"] for r in body], "fast-forward changed the result"
print("SEED " + json.dumps({
    "masters": ScheduleEntry.objects.filter(org=org).count(),
    "overrides": len(overrides),
    "instances_in_month": len(body),
    "queries": queries,
    "server_p50_ms": round(statistics.median(times), 1),
    "server_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
    "without_fast_forward_ms": round(statistics.median(slow), 1),
}))
"""


def timed_gets(url: str, headers: dict, n: int) -> dict:
    samples = []
    with httpx.Client(timeout=30) as client:
        client.get(url, headers=headers).raise_for_status()  # warm
        for _ in range(n):
            t0 = time.perf_counter()
            response = client.get(url, headers=headers)
            samples.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise fd.BenchError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "n": n,
        "bytes": len(response.content),
    }


def main() -> int:
    fd.RESULTS.mkdir(parents=True, exist_ok=True)
    key = fd.prepare_data()
    fd.step(f"seed {MASTERS} recurring masters (DTSTART 2016) and measure in-process")
    out = fd.manage("shell", "-c", SEED.replace("__MASTERS__", str(MASTERS)).replace("__REPEATS__", str(REPEATS)))
    seed = json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])
    print("   " + json.dumps(seed), flush=True)

    server = fd.Server(fd.WORKERS, fd.RESULTS / "server-schedule.log")
    try:
        server.start()
        auth = {"Authorization": f"Bearer {key}"}
        month = f"{server.base}/v1/schedule-entries?start={WINDOW[0]}&end={WINDOW[1]}"
        fd.step(f"HTTP: {REPEATS} sequential month-view GETs and {REPEATS} /healthz")
        http_month = timed_gets(month, auth, REPEATS)
        http_bare = timed_gets(f"{server.base}/healthz", {}, REPEATS)
        bare = {"endpoint": "GET /healthz", **fd.measure("schedule-bare", f"{server.base}/healthz", None, os.environ)}
    finally:
        server.stop()

    print()
    print(f"Schedule benchmark: {seed['masters']} masters, {seed['overrides']} overrides, DTSTART 10 years back")
    print(f"month view (31 days): {seed['instances_in_month']} instances, {seed['queries']} queries")
    print(f"  server (selector + render)  p50 {seed['server_p50_ms']:>8.1f} ms   p99 {seed['server_p99_ms']:>8.1f} ms")
    print(f"  same, no fast-forward       p50 {seed['without_fast_forward_ms']:>8.1f} ms")
    print(f"  HTTP month view             p50 {http_month['p50_ms']:>8.1f} ms   p99 {http_month['p99_ms']:>8.1f} ms")
    print(f"  HTTP /healthz               p50 {http_bare['p50_ms']:>8.1f} ms   p99 {http_bare['p99_ms']:>8.1f} ms")
    wrk_line = f"{bare['requests_per_sec']:.0f} req/s, p50 {bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms"
    print(f"  wrk /healthz: {wrk_line}")
    summary = {
        "benchmark": "schedule",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {"masters": MASTERS, "repeats": REPEATS, "workers": fd.WORKERS, "window": WINDOW},
        "server": seed,
        "http_month": http_month,
        "http_healthz": http_bare,
        "wrk_healthz": bare,
    }
    path = fd.RESULTS / "schedule.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {path.relative_to(fd.ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except fd.BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
