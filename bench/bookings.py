"""Bookings benchmark (run it through `bench/run bookings`).

Reuses bench/foundation.py's machinery (fresh database, uvicorn workers, wrk parsing) with its
own database (schedkit_bench_bookings) and Redis DB 8, loopback only. Seeds a host with
12 hours of availability every day, an event type, 200 bookings over the month and
materialized slots, then measures:

  bare        GET /healthz (wrk, 50 connections): the baseline
  host day    GET /v1/slots/{username}/{event}?date=…: wrk throughput, server time, queries
  host month  31 day requests in a row: total time (what a month calendar costs)
  holds       50 concurrent POST /v1/bookings per slot (capacities 1, 5, 25) over many
              slots: holds/s, p50/p99, and oversells (must be 0)

Prints the figures and writes bench/results/bookings.json.
"""

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foundation as fd  # noqa: E402

fd.DB_NAME = "schedkit_bench_bookings"
fd.REDIS_URL = "redis://127.0.0.1:6379/8"
fd.EXTRA_MEMBERS = 0
fd.APP_ENV = {
    **fd.APP_ENV,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{fd.DB_NAME}",
    "REDIS_URL": fd.REDIS_URL,
    "REDIS_KEY_PREFIX": "bench-bookings",
    "THROTTLE_BOOKING": "100000000/min",
}
fd.DURATION = os.environ.get("BENCH_DURATION", "10s")
CONCURRENCY = 50
HOLD_ROUNDS = int(os.environ.get("BENCH_HOLD_ROUNDS", "10"))
CAPACITIES = (1, 5, 25)

SEED = """
import json
from datetime import time, timedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from apps.bookings.models import Booking, EventType
from apps.bookings.selectors import host_slots
from apps.orgs.models import Membership, Org
from apps.orgs.tenancy import Actor
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance
from apps.scheduling.services import slots_generate

org = Org.objects.get(slug="demo")
membership = Membership.objects.get(org=org, user__username="owner")
location = Location.objects.create(org=org, name="Bench", timezone="Europe/Berlin")
person = Person.objects.create(org=org, membership=membership, location=location, name="Host")
AvailabilityRule.objects.create(org=org, location=location, person=person, rule_kind="WEEKLY",
    days_of_week=[1, 2, 3, 4, 5, 6, 7], start_time=time(8), end_time=time(20), slot_granularity_minutes=15)
AvailabilityRule.objects.create(org=org, location=location, rule_kind="WEEKLY",
    days_of_week=[1, 2, 3, 4, 5, 6, 7], start_time=time(8), end_time=time(20), slot_capacity=1)
et = EventType.objects.create(org=org, person=person, slug="intro", title="Intro", duration_minutes=30,
    buffer_after_minutes=15)
today = timezone.now().date()
start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
rows = []
for i in range(200):
    s = start + timedelta(days=i % 30, hours=(i // 30) % 10)
    rows.append(Booking(org=org, event_type=et, person=person, start_at=s, end_at=s + timedelta(minutes=30),
        seat_group=f"et:{et.pk}:{s.isoformat()}", status="confirmed", attendee_name=f"b{i}"))
Booking.objects.bulk_create(rows)
actor = Actor(user=None, org=org)
generated = slots_generate(actor=actor, location=location, date_from=today + timedelta(days=1),
    date_to=today + timedelta(days=31))
slots = list(SlotInstance.objects.filter(location=location, person__isnull=True).order_by("start_at")
    .values_list("id", flat=True)[:__N_SLOTS__])
caps = __CAPS__
for n, slot_id in enumerate(slots):
    SlotInstance.objects.filter(pk=slot_id).update(capacity=caps[n % len(caps)])
person = Person.objects.select_related("location", "org").get(pk=person.pk)
day = today + timedelta(days=3)
with CaptureQueriesContext(connection) as ctx:
    found = host_slots(event_type=et, person=person, day=day)
print("SEED " + json.dumps({"slots": [str(s) for s in slots], "caps": caps, "generated": generated,
    "host_day": day.isoformat(), "host_slots_that_day": len(found), "host_slot_queries": len(ctx.captured_queries)}))
"""


async def _hold_round(client, base_urls, key, slot_id):
    async def one(i):
        t0 = time.perf_counter()
        response = await client.post(
            f"{base_urls[i % len(base_urls)]}/v1/bookings",
            json={"slot_id": slot_id, "attendee_name": f"guest {i}"},
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
        )
        return response.status_code, (time.perf_counter() - t0) * 1000

    return await asyncio.gather(*(one(i) for i in range(CONCURRENCY)))


async def _holds(base, key, slots, caps):
    latencies, oversells, statuses = [], 0, {}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        for n, slot_id in enumerate(slots):
            results = await _hold_round(client, [base], key, slot_id)
            created = sum(1 for code, _ in results if code == 201)
            oversells += max(0, created - caps[n % len(caps)])
            if created != caps[n % len(caps)]:
                print(f"   !! slot {slot_id}: {created} holds for capacity {caps[n % len(caps)]}", flush=True)
            for code, ms in results:
                statuses[code] = statuses.get(code, 0) + 1
                latencies.append(ms)
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "requests_per_sec": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "statuses": statuses,
        "oversells": oversells,
    }


def _timed_get(url: str) -> float:
    t0 = time.perf_counter()
    response = httpx.get(url, timeout=30)
    if response.status_code != 200:
        raise fd.BenchError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    fd.RESULTS.mkdir(parents=True, exist_ok=True)
    key = fd.prepare_data()
    fd.step("seed: host, rules, event type, 200 bookings, a month of slots")
    n_slots = HOLD_ROUNDS * len(CAPACITIES)
    out = fd.manage("shell", "-c", SEED.replace("__N_SLOTS__", str(n_slots)).replace("__CAPS__", str(list(CAPACITIES))))
    seed = json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])
    print(f"   {seed['generated']}, host slots on {seed['host_day']}: {seed['host_slots_that_day']}", flush=True)
    busy = fd.cpu_busy_pct()
    server = fd.Server(fd.WORKERS, fd.RESULTS / "server-bookings.log")
    results = {}
    try:
        server.start()
        day_url = f"{server.base}/v1/slots/owner/intro?date={seed['host_day']}"
        fd.step("host slots: one day and a month of days, sequentially")
        day_ms = sorted(_timed_get(day_url) for _ in range(30))
        from datetime import date, timedelta

        first = date.fromisoformat(seed["host_day"])
        t0 = time.perf_counter()
        for n in range(31):
            _timed_get(f"{server.base}/v1/slots/owner/intro?date={(first + timedelta(days=n)).isoformat()}")
        month_ms = (time.perf_counter() - t0) * 1000
        results["host_day"] = {
            "endpoint": "GET /v1/slots/{user}/{event}",
            **fd.measure("host-day", day_url, None, dict(os.environ)),
        }
        results["bare"] = {
            "endpoint": "GET /healthz",
            **fd.measure("bare", f"{server.base}/healthz", None, dict(os.environ)),
        }
        fd.step(f"holds: {CONCURRENCY} concurrent per slot, {n_slots} slots (capacities {CAPACITIES})")
        results["holds"] = asyncio.run(_holds(server.base, key, seed["slots"], list(CAPACITIES)))
    finally:
        server.stop()

    summary = {
        "workers": fd.WORKERS,
        "cpu_busy_before_pct": round(busy, 1),
        "host_slots": {
            "day_server_p50_ms": round(day_ms[len(day_ms) // 2], 2),
            "month_31_days_ms": round(month_ms, 1),
            "queries_per_day_request": seed["host_slot_queries"],
        },
        **results,
    }
    print()
    print(f"Bookings benchmark: {fd.WORKERS} uvicorn workers, {os.cpu_count()} cores, CPU busy before {busy:.0f} %")
    print(f"{'endpoint':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name in ("bare", "host_day", "holds"):
        r = results[name]
        label = r.get("endpoint", f"POST /v1/bookings x{CONCURRENCY}")
        print(f"{label:<34} {r['requests_per_sec']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")
    hs = summary["host_slots"]
    print(
        f"host slots: day {hs['day_server_p50_ms']} ms (p50, sequential), month (31 days) {hs['month_31_days_ms']} ms, "
        f"{hs['queries_per_day_request']} queries per day computation"
    )
    print(f"holds: statuses {results['holds']['statuses']}, oversells {results['holds']['oversells']} (must be 0)")
    target = fd.RESULTS / "bookings.json"
    target.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {target.relative_to(fd.ROOT)}")
    return 1 if results["holds"]["oversells"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except fd.BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
