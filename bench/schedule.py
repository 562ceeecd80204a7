"""Schedule benchmark (run it through `bench/run schedule`).

Reuses bench/foundation.py's machinery with its own database (schedkit_bench_schedule) and
Redis DB 10, loopback only. Seeds 1,000 recurring masters (mixed daily/weekly/monthly, some
COUNT/UNTIL, some with overrides) whose DTSTART is 10 years back, then measures the month view
(GET /v1/schedule-entries?start=&end= over 31 days):

  server     in-process: select + expand + render + encode p50/p99 and the query count, with
             the expansion cache warm, cold, and cold without the fast-forward
  http       sequential GETs: month view p50/p99 with the window cache warm, missed every time
             (a new window each request), narrowed with ?fields=, beside /healthz
  wrk        the bare reference (bench/bare) served the same way, /healthz, the month view at 10
             connections, with ratios to the bare reference of the same run

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

fd.configure("schedule", 10)
fd.EXTRA_MEMBERS = 0
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
from apps.scheduling.api.entry_serializers import forget_master_rows, render_instance, render_instances, render_window
from apps.scheduling.models import ScheduleEntry, ScheduleOverride
from apps.scheduling.selectors import schedule_instances, window_masters

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

from schedkit.renderers import ORJSONRenderer
renderer = ORJSONRenderer()

def run_generic():
    # the generic path (model instances, Instance objects, render_instances, encode)
    instances = schedule_instances(fetched_by=actor, start=ws, end=we)
    rows = render_instances(instances)
    renderer.render({"count": len(rows), "results": rows})
    return rows

def run_once():
    # what the view does on a window-cache miss: light rows, per-master encoded rows, stitch
    masters, people = window_masters(fetched_by=actor, start=ws, end=we)
    count, encoded = render_window(masters, ws, we, None, people)
    return json.loads(encoded)

def cpu(fn, n, before=None):
    out = []
    for i in range(n):
        if before is not None:
            before(i)
        t0 = time.thread_time(); fn(); out.append((time.thread_time() - t0) * 1000)
    return sorted(out)

def change_one(i):
    # the first viewer after a change: one master renamed (the others' rows are kept)
    ScheduleEntry.objects.filter(pk=entries[i % len(entries)].pk).update(title=f"Round changed {i}")

def timed(n, cold):
    times = []
    for _ in range(n):
        if cold:
            recurrence._occurrence_starts_cached.cache_clear()
            forget_master_rows()
        else:
            change_one(len(times))
        t0 = time.perf_counter(); run_once(); times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)

run_once()
with CaptureQueriesContext(connection) as ctx:
    body = run_once()
queries = len(ctx.captured_queries)
times = timed(__REPEATS__, cold=False)
cold = timed(5, cold=True)
real_ff = recurrence._fast_forward
recurrence._fast_forward = lambda rule, parts, dtstart, target: rule
recurrence._occurrence_starts_cached.cache_clear()
slow = timed(3, cold=True)
slow_body = run_once()
recurrence._fast_forward = real_ff
recurrence._occurrence_starts_cached.cache_clear()
assert [r["id"] for r in slow_body] == [r["id"] for r in body], "fast-forward changed the result"
assert [r["id"] for r in run_once()] == [r["id"] for r in body], "the cache changed the result"
assert render_instances(schedule_instances(fetched_by=actor, start=ws, end=we)) == [
    render_instance(i) for i in schedule_instances(fetched_by=actor, start=ws, end=we)
], "render_instances differs from render_instance"
cpu_changed = cpu(run_once, __REPEATS__, change_one)
cpu_rows_cold = cpu(run_once, 5, lambda i: forget_master_rows())
cpu_generic = cpu(run_generic, 5)
assert run_once() == json.loads(renderer.render({"results": run_generic()}))["results"], "render_window differs"
print("SEED " + json.dumps({
    "masters": ScheduleEntry.objects.filter(org=org).count(),
    "overrides": len(overrides),
    "instances_in_month": len(body),
    "queries": queries,
    "server_p50_ms": round(statistics.median(times), 1),
    "server_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
    "cold_cache_p50_ms": round(statistics.median(cold), 1),
    "without_fast_forward_ms": round(statistics.median(slow), 1),
    "cpu_after_one_change_min_p50_ms": [round(cpu_changed[0], 1), round(statistics.median(cpu_changed), 1)],
    "cpu_master_rows_cold_min_p50_ms": [round(cpu_rows_cold[0], 1), round(statistics.median(cpu_rows_cold), 1)],
    "cpu_generic_path_min_p50_ms": [round(cpu_generic[0], 1), round(statistics.median(cpu_generic), 1)],
}))
"""


def timed_gets(url: str, headers: dict, n: int, distinct: bool = False) -> dict:
    """n sequential GETs; `distinct` moves the window's end by a second each time, so every
    request misses the window cache (what the first viewer after a change waits)."""
    samples = []
    with httpx.Client(timeout=60) as client:
        client.get(url, headers=headers).raise_for_status()  # warm
        for i in range(n):
            target = url.replace("T00:00:00Z&", f"T00:00:{(i + 1) % 60:02d}Z&", 1) if distinct else url
            t0 = time.perf_counter()
            response = client.get(target, headers=headers)
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

    busy = fd.warn_if_busy()
    bare = fd.bare_reference("schedule")
    server = fd.Server(fd.WORKERS, fd.RESULTS / "server-schedule.log")
    narrow_fields = "id,start,end,title,status,assignees"
    try:
        server.start()
        auth = {"Authorization": f"Bearer {key}"}
        month = f"{server.base}/v1/schedule-entries?start={WINDOW[0]}&end={WINDOW[1]}"
        fd.step(f"HTTP: {REPEATS} sequential month-view GETs (full, and ?fields=) and {REPEATS} /healthz")
        http_month = timed_gets(month, auth, REPEATS)
        http_cold = timed_gets(month, auth, min(REPEATS, 10), distinct=True)
        http_narrow = timed_gets(f"{month}&fields={narrow_fields}", auth, REPEATS)
        http_bare = timed_gets(f"{server.base}/healthz", {}, REPEATS)
        env = {**os.environ, "BENCH_API_KEY": key}
        healthz = {"endpoint": "GET /healthz", **fd.measure("schedule-healthz", f"{server.base}/healthz", None, env)}
        wrk_month = {
            "endpoint": "GET month view, 10 conn",
            **fd.measure("schedule-month", month, fd.BENCH / "auth.lua", env, connections=10),
        }
    finally:
        server.stop()

    print()
    print(f"Schedule benchmark: {seed['masters']} masters, {seed['overrides']} overrides, DTSTART 10 years back")
    print(f"month view (31 days): {seed['instances_in_month']} instances, {seed['queries']} queries")

    def line(label, p50, p99=None, size=None):
        tail = (f"   p99 {p99:>7.1f} ms" if p99 is not None else "") + (f"   {size / 1e6:.1f} MB" if size else "")
        print(f"  {label:<48} p50 {p50:>7.1f} ms{tail}")

    line("server, computed after a change to one master", seed["server_p50_ms"], seed["server_p99_ms"])
    print(
        f"  CPU ms (min, p50): after one change {seed['cpu_after_one_change_min_p50_ms']}, "
        f"per-master rows cold {seed['cpu_master_rows_cold_min_p50_ms']}, "
        f"generic path {seed['cpu_generic_path_min_p50_ms']}"
    )
    line("same, expansion + per-master rows cold", seed["cold_cache_p50_ms"])
    line("same, cold and no fast-forward", seed["without_fast_forward_ms"])
    line("HTTP month view (window cache warm)", http_month["p50_ms"], http_month["p99_ms"], http_month["bytes"])
    line(
        "HTTP month view, new window each time (all cold)", http_cold["p50_ms"], http_cold["p99_ms"], http_cold["bytes"]
    )
    line(f"HTTP ?fields={narrow_fields}", http_narrow["p50_ms"], http_narrow["p99_ms"], http_narrow["bytes"])
    line("HTTP /healthz (sequential)", http_bare["p50_ms"], http_bare["p99_ms"])
    print()
    fd.print_table(
        [(bare["json"], None), (bare["drf"], None), (healthz, bare["json"]), (wrk_month, bare["drf"])],
        f"wrk, {fd.WORKERS} {fd.SERVER_KIND} workers each, ratios to the bare reference of this run",
    )
    targets = {
        "server_p99_ms (computed)": fd.target(seed["server_p99_ms"], "<=", 100),
        "http_p99_ms (window cache warm)": fd.target(http_month["p99_ms"], "<=", 150),
        "http_p99_ms (cache missed)": fd.target(http_cold["p99_ms"], "<=", 150),
    }
    print()
    fd.print_targets(targets)
    summary = {
        "benchmark": "schedule",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {"masters": MASTERS, "repeats": REPEATS, "workers": fd.WORKERS, "window": WINDOW},
        "cpu_busy_pct_before": round(busy, 1),
        "server": seed,
        "http_month": http_month,
        "http_month_cold": http_cold,
        "http_month_fields": http_narrow,
        "http_healthz": http_bare,
        "bare": bare,
        "wrk_healthz": healthz,
        "wrk_month": wrk_month,
        "targets": targets,
    }
    path = fd.RESULTS / "schedule.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {path.relative_to(fd.ROOT)}")
    return 0


if __name__ == "__main__":
    fd.run_main(main)
