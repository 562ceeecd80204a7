"""Bookings benchmark (run it through `bench/run bookings`).

Reuses bench/foundation.py's machinery (fresh database, uvicorn workers, wrk parsing) with its
own database (schedkit_bench_bookings) and Redis DB 8, loopback only. Seeds a host with
12 hours of availability every day, an event type with 2,000 bookings over the month, a team
of 10 (with their own bookings) and materialized slots, then measures:

  bare        GET /healthz (wrk, 50 connections): the baseline
  host day    GET /v1/slots/{username}/{event}?date=…: wrk throughput
  server time sequential requests on one keep-alive connection (what one request costs the
              server, without queueing): /healthz, a host day, a host 31-day month
              (?start=&end=), a team-of-10 day and month: p50/p99; plus the query count
              of each (the same code as the view, in the seed process)
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

fd.configure("bookings", 8, THROTTLE_BOOKING="100000000/min")
fd.EXTRA_MEMBERS = 0
fd.DURATION = os.environ.get("BENCH_DURATION", "10s")
CONCURRENCY = 50
HOLD_ROUNDS = int(os.environ.get("BENCH_HOLD_ROUNDS", "10"))
CAPACITIES = (1, 5, 25)
HOST_BOOKINGS = 2000
TEAM_SIZE = 10
SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "200"))
CPU_RUNS = int(os.environ.get("BENCH_CPU_RUNS", "30"))  # in-process repetitions of each slot computation

SEED = """
import json
import time as clock
from datetime import time, timedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from apps.accounts.models import User
from apps.bookings.models import Booking, EventType
from apps.bookings.selectors import host_slots, person_event_type, team_event_type, team_slots
from apps.orgs.models import Membership, Org, Team, TeamMember
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
# Group sessions (8 seats): 2,000 bookings fit a month of one host without overlapping seats.
et = EventType.objects.create(org=org, person=person, slug="intro", title="Intro", duration_minutes=30,
    buffer_after_minutes=15, capacity=8, booking_window_days=90)
today = timezone.now().date()
first = timezone.now().replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
rows = []
for i in range(__HOST_BOOKINGS__):
    s = first + timedelta(days=i % 31, hours=(i // 31) % 12)
    rows.append(Booking(org=org, event_type=et, person=person, start_at=s, end_at=s + timedelta(minutes=30),
        seat_group=f"et:{et.pk}:{s.isoformat()}", status="confirmed", attendee_name=f"b{i}"))
Booking.objects.bulk_create(rows, batch_size=500)

team = Team.objects.create(org=org, slug="bench-team", name="Bench team")
team_et = EventType.objects.create(org=org, team=team, slug="triage", title="Triage", duration_minutes=30,
    booking_window_days=90)
team_rows = []
for n in range(__TEAM_SIZE__):
    user = User.objects.create_user(f"teammate{n}@bench.schedkit.local")
    member = Membership.objects.create(org=org, user=user, role="member")
    mate = Person.objects.create(org=org, membership=member, location=location, name=f"Mate {n}")
    AvailabilityRule.objects.create(org=org, location=location, person=mate, rule_kind="WEEKLY",
        days_of_week=[1, 2, 3, 4, 5], start_time=time(9), end_time=time(17), slot_granularity_minutes=30)
    TeamMember.objects.create(org=org, team=team, membership=member)
    for i in range(40):  # 400 team bookings over the month
        s = first + timedelta(days=i % 31, hours=2 + (n + i) % 8)
        team_rows.append(Booking(org=org, event_type=team_et, person=mate, start_at=s,
            end_at=s + timedelta(minutes=30), seat_group=f"et:{team_et.pk}:{s.isoformat()}",
            status="confirmed", attendee_name=f"t{n}-{i}"))
Booking.objects.bulk_create(team_rows, batch_size=500)

actor = Actor(user=None, org=org)
generated = slots_generate(actor=actor, location=location, date_from=today + timedelta(days=1),
    date_to=today + timedelta(days=31))
slots = list(SlotInstance.objects.filter(location=location, person__isnull=True).order_by("start_at")
    .values_list("id", flat=True)[:__N_SLOTS__])
caps = __CAPS__
for n, slot_id in enumerate(slots):
    SlotInstance.objects.filter(pk=slot_id).update(capacity=caps[n % len(caps)])

day = today + timedelta(days=3)
month = (today + timedelta(days=1), today + timedelta(days=31))
queries, found, cpu = {}, {}, {}
# Planner statistics, as autovacuum keeps them on a live database (a freshly bulk-loaded
# table without them gets plans a live one never sees).
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
# What each view runs: the event type lookup, then the slots.
for name, compute in (
    ("host_day", lambda: host_slots(event_type=(e := person_event_type(username="owner", slug="intro")),
        person=e.person, day=day)),
    ("host_month", lambda: host_slots(event_type=(e := person_event_type(username="owner", slug="intro")),
        person=e.person, day=month[0], end_day=month[1])),
    ("team_day", lambda: team_slots(event_type=team_event_type(org_slug="demo", team_slug="bench-team",
        slug="triage"), day=day)),
    ("team_month", lambda: team_slots(event_type=team_event_type(org_slug="demo", team_slug="bench-team",
        slug="triage"), day=month[0], end_day=month[1])),
):
    with CaptureQueriesContext(connection) as ctx:
        found[name] = len(compute())
    queries[name] = len(ctx.captured_queries)
    times = []
    for _ in range(__CPU_RUNS__):  # in-process CPU time of this thread: what the machine's load skews least
        t0 = clock.thread_time()
        compute()
        times.append((clock.thread_time() - t0) * 1000)
    times.sort()
    cpu[name] = {"min_ms": round(times[0], 2), "p50_ms": round(times[len(times) // 2], 2)}
print("SEED " + json.dumps({"slots": [str(s) for s in slots], "caps": caps, "generated": generated,
    "host_day": day.isoformat(), "month": [d.isoformat() for d in month], "found": found, "queries": queries,
    "cpu": cpu,
    "bookings": Booking.objects.count()}))
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


def _sequential(client: httpx.Client, urls: list[str]) -> dict:
    """One request after another on one keep-alive connection: the server time of each
    (plus a loopback round trip), never queueing behind another request."""
    times = []
    for url in urls:
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise fd.BenchError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
        times.append(elapsed)
    times.sort()
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 2),
    }


def main() -> int:
    from datetime import date, timedelta

    fd.RESULTS.mkdir(parents=True, exist_ok=True)
    key = fd.prepare_data()
    fd.step(f"seed: host, rules, event type, {HOST_BOOKINGS} bookings, a team of {TEAM_SIZE}, a month of slots")
    n_slots = HOLD_ROUNDS * len(CAPACITIES)
    script = (
        SEED.replace("__N_SLOTS__", str(n_slots))
        .replace("__CAPS__", str(list(CAPACITIES)))
        .replace("__HOST_BOOKINGS__", str(HOST_BOOKINGS))
        .replace("__TEAM_SIZE__", str(TEAM_SIZE))
        .replace("__CPU_RUNS__", str(CPU_RUNS))
    )
    out = fd.manage("shell", "-c", script)
    seed = json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])
    print(f"   {seed['generated']}, {seed['bookings']} bookings, slots found {seed['found']}", flush=True)
    busy = fd.warn_if_busy()
    bare = fd.bare_reference("bookings")
    server = fd.Server(fd.WORKERS, fd.RESULTS / "server-bookings.log")
    results, server_time = {}, {}
    first, last = (date.fromisoformat(d) for d in seed["month"])
    days = [(first + timedelta(days=n)).isoformat() for n in range(31)]
    host = f"{server.base}/v1/slots/owner/intro"
    team = f"{server.base}/v1/slots/demo/bench-team/triage"
    month_query = f"start={first.isoformat()}&end={last.isoformat()}"
    try:
        server.start()
        fd.step(f"server time: {SEQUENTIAL} sequential requests each (keep-alive, one connection)")
        with httpx.Client(timeout=60) as client:
            for name, urls in (
                ("bare", [f"{server.base}/healthz"]),
                ("host_day", [f"{host}?date={d}" for d in days]),
                ("host_month", [f"{host}?{month_query}"]),
                ("team_day", [f"{team}?date={d}" for d in days]),
                ("team_month", [f"{team}?{month_query}"]),
            ):
                _sequential(client, urls[:3])  # warm-up
                server_time[name] = _sequential(client, [urls[n % len(urls)] for n in range(SEQUENTIAL)])
                print(f"   {name:<11} {server_time[name]}", flush=True)
        day_url = f"{host}?date={seed['host_day']}"
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
        "bookings": seed["bookings"],
        "server_time": server_time,
        "queries": seed["queries"],
        "slots_found": seed["found"],
        "cpu_in_process": seed["cpu"],
        "bare": bare,
        **results,
    }
    print()
    print(f"Bookings benchmark: {fd.WORKERS} uvicorn workers, {os.cpu_count()} cores, CPU busy before {busy:.0f} %")
    print(f"{seed['bookings']} bookings ({HOST_BOOKINGS} on the host's month, team of {TEAM_SIZE})")
    holds = {"endpoint": f"POST /v1/bookings x{CONCURRENCY}", "errors": 0, **results["holds"]}
    fd.print_table(
        [
            (bare["json"], None),
            (bare["drf"], None),
            (results["bare"], bare["json"]),
            (results["host_day"], bare["drf"]),
            (holds, bare["drf"]),
        ],
        f"wrk at {fd.CONNECTIONS} connections (holds: {CONCURRENCY} clients), ratios to the bare reference of this run",
    )
    print()
    base = server_time["bare"]
    print(
        f"{'server time (sequential)':<34} {'queries':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99 / /healthz':>15}"
        f" {'CPU min':>8} {'CPU p50':>8}"
    )
    labels = {
        "bare": "GET /healthz (baseline)",
        "host_day": "host slots, one day",
        "host_month": "host slots, 31-day month",
        "team_day": f"team of {TEAM_SIZE}, one day",
        "team_month": f"team of {TEAM_SIZE}, 31-day month",
    }
    for name, label in labels.items():
        r = server_time[name]
        cpu = seed["cpu"].get(name)
        cpu_cols = f" {cpu['min_ms']:>8.2f} {cpu['p50_ms']:>8.2f}" if cpu else ""
        print(
            f"{label:<34} {seed['queries'].get(name, 0):>9} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}"
            f" {r['p99_ms'] / base['p99_ms']:>14.1f}x{cpu_cols}"
        )
    print(f"(CPU: in-process thread time of the same computation in the seed process, ms, {CPU_RUNS} runs)")
    print(f"holds: statuses {results['holds']['statuses']}, oversells {results['holds']['oversells']} (must be 0)")
    target = fd.RESULTS / "bookings.json"
    target.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {target.relative_to(fd.ROOT)}")
    return 1 if results["holds"]["oversells"] else 0


if __name__ == "__main__":
    fd.run_main(main)
