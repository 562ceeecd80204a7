"""Soak (run it through `bench/run soak`; not in CI): SOAK_DURATION (20m) of mixed load on the
production topology, with a Celery worker SIGKILLed and restarted and Redis restarted in the
middle, then a drain and the books balanced.

Topology (all loopback, each in its own process group): a private redis-server
(SOAK_REDIS_PORT, 6391; no persistence, so its restart loses every key, queue and channel),
the bench database recreated (`BENCH_DB_PREFIX`_soak), 2 uvicorn web processes (what bin/run
serves), a Celery worker (prefork, 2 children) and Celery beat as separate processes, and a
webhook receiver in this process (tests/fakes.FakeServer, answers 204 and records receipts)
registered through `POST /admin/v1/webhooks` for every event of the org.

Load (asyncio + httpx): SOAK_HOLDERS clients holding a booking slot and confirming it
(`POST /v1/bookings` → `POST /v1/bookings/{id}/confirm`), SOAK_REPORTERS clients creating an
incident and updating it (priority, then status in_progress, then resolved), SOAK_PHONES
members pinging their beacon every SOAK_PING_SECONDS, and SOAK_STREAMS (50) SSE streams of the
org (`/v1/events/stream`) open the whole time, reconnecting with Last-Event-ID when dropped.

Faults: at 25 % of the load the worker is SIGKILLed (its whole group) and a new one started
SOAK_WORKER_DOWN (5s) later; at 55 % Redis is stopped and started again SOAK_REDIS_DOWN (10s)
later. The outage window is from the stop to Redis answering PING again; the RECOVERY_SECONDS
(15 s) after it are reported on their own (and count as outside the window for the goal).

Figures: requests by operation and status, per window (before/outage/recovery/after); 5xx
outside the outage (goal 0) and non-503 5xx inside it (goal 0); events created since the
streams opened (events_event rows of the org, by type) vs received by each stream and by the
webhook receiver vs WebhookDelivery rows (goal: none lost); RSS of every process at the start
of the load, every minute of it and after the drain (goal: flat). Writes bench/results/soak.json; exits 1 when a
goal is missed.
"""

import asyncio
import json
import os
import random
import re
import signal
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import foundation as fd  # noqa: E402

sys.path.insert(0, str(fd.ROOT))
from tests.fakes import FakeServer  # noqa: E402


def seconds(value: str) -> float:
    match = re.fullmatch(r"\s*([\d.]+)\s*(ms|s|m|h)?\s*", value)
    if not match:
        raise fd.BenchError(f"cannot parse duration {value!r} (e.g. 90s, 2m, 20m)")
    return float(match.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[match.group(2)]


DURATION = seconds(os.environ.get("SOAK_DURATION", "20m"))
WORKER_DOWN = seconds(os.environ.get("SOAK_WORKER_DOWN", "5s"))
REDIS_DOWN = seconds(os.environ.get("SOAK_REDIS_DOWN", "10s"))
DRAIN = seconds(os.environ.get("SOAK_DRAIN", "5m"))
RECOVERY_SECONDS = 15.0
REDIS_PORT = int(os.environ.get("SOAK_REDIS_PORT", "6391"))
STREAMS = int(os.environ.get("SOAK_STREAMS", "50"))
HOLDERS = int(os.environ.get("SOAK_HOLDERS", "2"))
REPORTERS = int(os.environ.get("SOAK_REPORTERS", "2"))
PHONES = int(os.environ.get("SOAK_PHONES", "10"))
PING_SECONDS = float(os.environ.get("SOAK_PING_SECONDS", "2"))
PAUSE = float(os.environ.get("SOAK_PAUSE_SECONDS", "0.5"))  # each holder/reporter between rounds
KILL_AT, REDIS_AT = 0.25, 0.55  # of the load

redis_server = common.RedisServer(REDIS_PORT, fd.RESULTS / "soak-redis.log")
fd.REDIS_BASE = redis_server.url
fd.EXTRA_MEMBERS = 0
fd.configure(
    "soak",
    12,
    REDIS_KEY_PREFIX="sk-soak",
    CELERY_TASK_ALWAYS_EAGER="false",
    EMBEDDED_WORKER="false",
    DEMO_BEACONS="false",
    THROTTLE_BOOKING="100000000/min",
)

SEED = """
import json
from datetime import time, timedelta
from django.utils import timezone
from apps.accounts.models import User
from apps.accounts.services import api_key_create
from apps.orgs.models import Membership, Org
from apps.orgs.tenancy import Actor
from apps.scheduling.models import AvailabilityRule, Location, SlotInstance
from apps.scheduling.services import slots_generate

org = Org.objects.get(slug="demo")
location = Location.objects.create(org=org, name="Soak desk", timezone="UTC")
AvailabilityRule.objects.create(org=org, location=location, rule_kind="WEEKLY", days_of_week=[1, 2, 3, 4, 5, 6, 7],
    start_time=time(0), end_time=time(23, 30), slot_capacity=__CAPACITY__)
today = timezone.now().date()
slots_generate(actor=Actor(user=None, org=org), location=location, date_from=today + timedelta(days=1),
    date_to=today + timedelta(days=60))
slots = [str(s) for s in SlotInstance.objects.filter(location=location).values_list("id", flat=True)]
phones = []
for i in range(__PHONES__):
    user = User.objects.create_user(f"phone{i:03d}@soak.schedkit.local")
    m = Membership.objects.create(org=org, user=user, role="member")
    phones.append(api_key_create(actor=Actor(user=user, org=org, role="member", membership_id=m.pk), name="soak")[1])
print("SEED " + json.dumps({"slots": slots, "phones": phones}))
"""

BOOKS = """
import json
from django.db.models import Count
from apps.events.models import Event, WebhookDelivery
rows = list(Event.objects.filter(org__slug="demo", created_at__gte=__SINCE__).values_list("id", "type"))
deliveries = list(WebhookDelivery.objects.filter(endpoint_id=__ENDPOINT__).values_list("event_id", "status"))
undispatched = Event.objects.filter(org__slug="demo", dispatched_at__isnull=True).count()
print("BOOKS " + json.dumps({"events": [[str(i), t] for i, t in rows],
    "deliveries": [[str(e), s] for e, s in deliveries], "undispatched": undispatched}))
"""


class Clock:
    """Seconds since the load started; the fault times, for the windows."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.marks: dict[str, float] = {}

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, name: str) -> float:
        self.marks[name] = round(self.now(), 2)
        fd.step(f"t={self.marks[name]:.1f}s {name}")
        return self.marks[name]

    def window(self, t: float) -> str:
        down, up = self.marks.get("redis_stopped"), self.marks.get("redis_answering")
        if down is None or t < down:
            return "before"
        if up is None or t <= up:
            return "outage"
        return "recovery" if t <= up + RECOVERY_SECONDS else "after"


class Load:
    def __init__(self, base: str, owner_key: str, phones: list[str], slots: list[str], clock: Clock):
        self.base, self.owner, self.phones, self.slots, self.clock = base, owner_key, phones, slots, clock
        self.requests: list[tuple[float, str, str]] = []  # (t, operation, status or error name)
        self.failures: list[dict] = []  # first 5xx/errors, with their body
        self.stop = asyncio.Event()

    async def call(self, http, op: str, method: str, url: str, key: str, **kwargs) -> httpx.Response | None:
        t = self.clock.now()
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        try:
            response = await http.request(method, url, headers=headers, **kwargs)
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            response, status = None, f"error:{type(exc).__name__}"
        self.requests.append((t, op, status))
        if (response is None or response.status_code >= 500) and len(self.failures) < 40:
            body = response.text[:300] if response is not None else ""
            self.failures.append({"t": round(t, 2), "op": op, "status": status, "body": body})
        return response

    async def holder(self, http, n: int):
        rnd = random.Random(n)
        while not self.stop.is_set():
            slot = rnd.choice(self.slots)
            hold = await self.call(http, "hold", "POST", "/v1/bookings", self.owner,
                                   json={"slot_id": slot, "attendee_name": f"soak {n}"},
                                   headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
            if hold is not None and hold.status_code == 201:
                await self.call(http, "confirm", "POST", f"/v1/bookings/{hold.json()['id']}/confirm", self.owner,
                                headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
            await asyncio.sleep(PAUSE)

    async def reporter(self, http, n: int):
        i = 0
        while not self.stop.is_set():
            i += 1
            created = await self.call(http, "incident_create", "POST", "/v1/incidents", self.owner,
                                      json={"title": f"soak {n}-{i}", "priority": "normal"})  # fmt: skip
            if created is not None and created.status_code == 201:
                url = f"/v1/incidents/{created.json()['id']}"
                for change in ({"priority": "high"}, {"status": "in_progress"}, {"status": "resolved"}):
                    if self.stop.is_set():
                        break
                    await self.call(http, "incident_update", "PATCH", url, self.owner, json=change)
            await asyncio.sleep(PAUSE)

    async def phone(self, http, n: int, key: str):
        rnd = random.Random(1000 + n)
        await asyncio.sleep(rnd.uniform(0, PING_SECONDS))
        while not self.stop.is_set():
            lat, lng = 40 + rnd.uniform(-0.1, 0.1), -3.7 + rnd.uniform(-0.1, 0.1)
            await self.call(http, "beacon", "POST", "/v1/signals/beacon", key, json={"lat": lat, "lng": lng})
            await asyncio.sleep(PING_SECONDS)

    async def run_until_stopped(self):
        limits = httpx.Limits(max_connections=HOLDERS + REPORTERS + PHONES + 4)
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as http:
            tasks = [self.holder(http, n) for n in range(HOLDERS)]
            tasks += [self.reporter(http, n) for n in range(REPORTERS)]
            tasks += [self.phone(http, n, key) for n, key in enumerate(self.phones)]
            await asyncio.gather(*tasks)


class Stream:
    """One EventSource-like client: every frame's id, reconnecting with Last-Event-ID."""

    def __init__(self, n: int, base: str, key: str, clock: Clock):
        self.n, self.base, self.key, self.clock = n, base, key, clock
        self.ids: Counter = Counter()  # persisted and ephemeral ids alike; the books tell them apart
        self.types: Counter = Counter()
        self.last_id: str | None = None
        self.connects: list[tuple[float, str]] = []  # (t, status or error) per (re)connect
        self.ended: list[tuple[float, str]] = []  # (t, why) per drop
        self.connected = asyncio.Event()
        self.retry = 3.0

    async def run(self, http, stop: asyncio.Event):
        while not stop.is_set():
            headers = {"Authorization": f"Bearer {self.key}", "Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            t, answered = self.clock.now(), False
            try:
                async with http.stream("GET", f"{self.base}/v1/events/stream", headers=headers) as response:
                    answered = True
                    self.connects.append((t, str(response.status_code)))
                    if response.status_code != 200:
                        await response.aread()
                        self.ended.append((self.clock.now(), f"status {response.status_code}"))
                    else:
                        await self._read(response, stop)
                        if not stop.is_set():
                            self.ended.append((self.clock.now(), "server ended the stream"))
            except httpx.HTTPError as exc:
                if not answered:
                    self.connects.append((t, f"error:{type(exc).__name__}"))
                self.ended.append((self.clock.now(), f"error:{type(exc).__name__}"))
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.retry)  # the EventSource's retry:
            except TimeoutError:
                pass

    async def _read(self, response, stop: asyncio.Event):
        frame: dict[str, str] = {}
        lines = response.aiter_lines()
        while not stop.is_set():
            reader = asyncio.ensure_future(anext(lines))
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if reader not in done:
                reader.cancel()
                return
            try:
                line = reader.result()
            except StopAsyncIteration:
                return
            if line == "":
                self._frame(frame)
                frame = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                frame[name] = value[1:] if value.startswith(" ") else value

    def _frame(self, frame: dict[str, str]):
        if "retry" in frame:
            self.retry = int(frame["retry"]) / 1000
        if "data" not in frame:
            return
        if "id" not in frame:
            self.connected.set()  # {"type":"connected"}
            return
        envelope = json.loads(frame["data"])
        self.ids[frame["id"]] += 1
        self.types[envelope.get("type")] += 1
        self.last_id = frame["id"]


async def soak(server, owner_key: str, seed: dict, worker: common.Celery, beat: common.Celery) -> dict:
    clock = Clock()
    stop_streams = asyncio.Event()
    streams = [Stream(n, server.base, owner_key, clock) for n in range(STREAMS)]
    limits = httpx.Limits(max_connections=STREAMS + 5, max_keepalive_connections=STREAMS + 5)
    timeout = httpx.Timeout(30, read=90)  # the server pings an idle stream every 25 s
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as stream_http:
        stream_tasks = [asyncio.ensure_future(s.run(stream_http, stop_streams)) for s in streams]
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in streams)), 60)
        since = fd.manage("shell", "-c", "from django.utils import timezone; print(timezone.now().isoformat())")
        since = since.strip().splitlines()[-1]
        fd.step(f"{STREAMS} streams open; events counted from {since}")
        load = Load(server.base, owner_key, seed["phones"], seed["slots"], clock)
        clock.t0 = time.monotonic()
        memory_start = memory(server, worker, beat)
        old_worker_pid = worker.proc.pid
        load_task = asyncio.ensure_future(load.run_until_stopped())
        samples: list[dict] = []

        async def sample_memory():  # every minute: is it flat, or only equal at both ends?
            while not load.stop.is_set():
                samples.append({"t": round(clock.now()), **memory(server, worker, beat)})
                try:
                    await asyncio.wait_for(load.stop.wait(), timeout=60)
                except TimeoutError:
                    pass

        sampler = asyncio.ensure_future(sample_memory())

        async def at(fraction: float):
            await asyncio.sleep(max(0.0, fraction * DURATION - clock.now()))

        await at(KILL_AT)
        memory_old_worker_end = memory_of("celery worker (killed)", worker.proc.pid)
        worker.kill()
        clock.mark("worker_killed")
        await asyncio.sleep(WORKER_DOWN)
        await asyncio.to_thread(worker.start)
        clock.mark("worker_restarted")
        memory_new_worker_start = memory_of("celery worker (new)", worker.proc.pid)

        await at(REDIS_AT)
        redis_server.stop()
        clock.mark("redis_stopped")
        await asyncio.sleep(REDIS_DOWN)
        await asyncio.to_thread(redis_server.start)
        clock.mark("redis_answering")

        await at(1.0)
        load.stop.set()
        await load_task
        await sampler
        clock.mark("load_stopped")

        books = await drain(streams, seed, since, clock)
        stop_streams.set()
        await asyncio.gather(*stream_tasks)
    memory_end = memory(server, worker, beat)
    return {
        "clock": clock.marks,
        "load": load,
        "streams": streams,
        "books": books,
        "memory": {
            "start": memory_start,
            "end": memory_end,
            "old_worker": {"pid": old_worker_pid, "before_kill": memory_old_worker_end},
            "new_worker_start": memory_new_worker_start,
            "samples": samples,
        },
    }


async def drain(streams, seed, since, clock) -> dict:
    """Wait (SOAK_DRAIN at most) until every persisted event reached every stream and the
    receiver, and no delivery row of them is pending; return the last books."""
    deadline = time.monotonic() + DRAIN
    while True:
        out = await asyncio.to_thread(
            fd.manage,
            "shell",
            "-c",
            BOOKS.replace("__SINCE__", repr(since)).replace("__ENDPOINT__", repr(seed["endpoint_id"])),
        )
        books = json.loads(next(x for x in out.splitlines() if x.startswith("BOOKS "))[6:])
        event_ids = {i for i, _ in books["events"]}
        missing_streams = sum(len(event_ids - set(s.ids)) for s in streams)
        received = {json.loads(r.body)["id"] for r in seed["receiver"].requests}
        missing_hooks = len(event_ids - received)
        pending = sum(1 for event, status in books["deliveries"] if status == "pending" and event in event_ids)
        settled = missing_streams == 0 and missing_hooks == 0 and pending == 0  # a row is marked after its receipt
        if settled or time.monotonic() > deadline:
            books["drain_seconds"] = round(clock.now() - clock.marks["load_stopped"], 1)
            return books
        fd.step(
            f"t={clock.now():.0f}s drain: {len(event_ids)} events, {missing_streams} stream receipts and "
            f"{missing_hooks} webhooks missing ({pending} deliveries pending, {books['undispatched']} undispatched)"
        )
        await asyncio.sleep(10)


def memory_of(name: str, pid: int) -> dict:
    return common.rss_tree(name, pid)


def memory(server, worker, beat) -> dict:
    out = {}
    out.update(common.rss_tree("uvicorn", server.proc.pid))
    out.update(common.rss_tree("celery worker", worker.proc.pid))
    out.update(common.rss_tree("celery beat", beat.proc.pid))
    out["redis-server"] = common.rss_kb(redis_server.proc.pid)
    out["bench (load + streams + receiver)"] = common.rss_kb(os.getpid())
    return out


# --- report --------------------------------------------------------------------------------


def figures(result: dict, receiver: FakeServer) -> dict:
    load, streams, books, clock = result["load"], result["streams"], result["books"], result["clock"]
    window_of = Clock()
    window_of.marks = clock
    by_op: dict[str, Counter] = defaultdict(Counter)
    by_window: dict[str, Counter] = defaultdict(Counter)
    for t, op, status in load.requests:
        by_op[op][status] += 1
        by_window[window_of.window(t)][status] += 1
    for s in streams:
        for t, status in s.connects:
            by_op["stream_connect"][status] += 1
            by_window[window_of.window(t)][status] += 1

    def is_5xx(status: str) -> bool:
        return status.startswith("5") or status.startswith("error:")

    outside_5xx = sum(n for w, c in by_window.items() if w != "outage" for s, n in c.items() if is_5xx(s))
    inside_non503 = sum(n for s, n in by_window["outage"].items() if is_5xx(s) and s != "503")
    event_types = Counter(t for _, t in books["events"])
    event_ids = {i for i, _ in books["events"]}
    per_stream_missing = [len(event_ids - set(s.ids)) for s in streams]
    per_stream_dupes = [sum(n - 1 for i, n in s.ids.items() if n > 1 and i in event_ids) for s in streams]
    ephemeral = [sum(n for i, n in s.ids.items() if i not in event_ids) for s in streams]
    hook_ids = Counter(json.loads(r.body)["id"] for r in receiver.requests)  # it answers 204 to all
    in_window = [(e, status) for e, status in books["deliveries"] if e in event_ids]
    delivery_status = Counter(status for _, status in in_window)
    delivery_events = {e for e, _ in in_window}
    beacon_frames = load_ok(load, "beacon", "200")  # a 201 is the first ping: beacon_on, persisted
    return {
        "requests_by_op": {op: dict(c) for op, c in sorted(by_op.items())},
        "requests_by_window": {w: dict(by_window[w]) for w in ("before", "outage", "recovery", "after")},
        "5xx_outside_outage": outside_5xx,
        "5xx_in_recovery": sum(n for s, n in by_window["recovery"].items() if is_5xx(s)),
        "non_503_5xx_in_outage": inside_non503,
        "first_failures": load.failures,
        "events_created": len(event_ids),
        "events_by_type": dict(event_types.most_common()),
        "streams": {
            "count": len(streams),
            "missing_total": sum(per_stream_missing),
            "streams_missing_any": sum(1 for m in per_stream_missing if m),
            "missing_max": max(per_stream_missing, default=0),
            "duplicates_total": sum(per_stream_dupes),
            "reconnects": sum(max(0, len(s.connects) - 1) for s in streams),
            "drops": dict(Counter(why for s in streams for _, why in s.ended)),
            "beacon_frames_broadcast": beacon_frames,
            "beacon_frames_per_stream_min_max": [min(ephemeral, default=0), max(ephemeral, default=0)],
        },
        "webhooks": {
            "delivery_rows": len(in_window),
            "delivery_rows_all": len(books["deliveries"]),
            "delivery_rows_by_status": dict(delivery_status),
            "events_without_delivery_row": len(event_ids - delivery_events),
            "received_events": len(set(hook_ids) & event_ids),
            "missing": len(event_ids - set(hook_ids)),
            "duplicate_receipts": sum(n - 1 for n in hook_ids.values()),
            "requests": len(receiver.requests),
        },
        "undispatched_events": books["undispatched"],
        "drain_seconds": books["drain_seconds"],
        "memory_kb": result["memory"],
        "clock_s": clock,
    }


def load_ok(load: Load, op: str, status: str) -> int:
    return sum(1 for _, o, answered in load.requests if o == op and answered == status)


def print_report(f: dict) -> None:
    print()
    c = f["clock_s"]
    print(
        f"Soak: {DURATION:.0f} s of load; worker SIGKILLed at {c['worker_killed']} s, new one ready at "
        f"{c['worker_restarted']} s; Redis stopped at {c['redis_stopped']} s, answering at {c['redis_answering']} s "
        f"(outage {c['redis_answering'] - c['redis_stopped']:.1f} s); drain {f['drain_seconds']} s"
    )
    statuses = sorted({s for c in f["requests_by_op"].values() for s in c})
    print(f"\n{'requests by operation':<22}" + "".join(f"{s:>12}" for s in statuses))
    for op, counts in f["requests_by_op"].items():
        print(f"{op:<22}" + "".join(f"{counts.get(s, 0):>12}" for s in statuses))
    print(f"\n{'requests by window':<22}" + "".join(f"{s:>12}" for s in statuses))
    for w, counts in f["requests_by_window"].items():
        print(f"{w:<22}" + "".join(f"{counts.get(s, 0):>12}" for s in statuses))
    print()
    print(
        f"  5xx/errors outside the Redis outage   {f['5xx_outside_outage']:>7}   goal 0 "
        f"(in the {RECOVERY_SECONDS:.0f} s after it: {f['5xx_in_recovery']})"
    )
    print(f"  non-503 5xx/errors inside the outage  {f['non_503_5xx_in_outage']:>7}   goal 0")
    s, w = f["streams"], f["webhooks"]
    print(f"\n  events created (since the streams opened) {f['events_created']}: {f['events_by_type']}")
    print(
        f"  streams ({s['count']}): missing {s['missing_total']} (in {s['streams_missing_any']} streams, max "
        f"{s['missing_max']}), duplicates {s['duplicates_total']}, reconnects {s['reconnects']} {s['drops']}; "
        f"live beacon frames (broadcast only, best effort) per stream {s['beacon_frames_per_stream_min_max']} "
        f"of {s['beacon_frames_broadcast']} pings answered 200"
    )
    print(
        f"  webhooks: {w['delivery_rows']} delivery rows of those events {w['delivery_rows_by_status']} "
        f"({w['delivery_rows_all']} in all), "
        f"{w['events_without_delivery_row']} events without a row; received {w['received_events']}, missing "
        f"{w['missing']}, duplicate receipts {w['duplicate_receipts']}; undispatched events {f['undispatched_events']}"
    )
    mem = f["memory_kb"]
    print(f"\n{'memory (RSS, MB)':<36}{'start':>10}{'end':>10}{'change':>10}")
    for name in sorted(set(mem["start"]) | set(mem["end"])):
        a, b = mem["start"].get(name), mem["end"].get(name)
        change = f"{(b - a) / 1024:+.1f}" if a and b else ""
        a_s = f"{a / 1024:.1f}" if a else "-"
        b_s = f"{b / 1024:.1f}" if b else "-"
        print(f"{name:<36}{a_s:>10}{b_s:>10}{change:>10}")
    web = [name for name in mem["start"] if name.startswith("uvicorn/child")]
    for name in web:
        series = " ".join(f"{(m.get(name) or 0) / 1024:.0f}" for m in mem["samples"])
        print(f"  {name} every minute (MB): {series}")
    print(
        "  (celery worker at the start is the one later killed: "
        f"{_mb(mem['old_worker']['before_kill'])} before the kill; the new one "
        f"{_mb(mem['new_worker_start'])} when ready; redis-server at the end is the restarted one)"
    )
    if f["first_failures"]:
        print("\n  first 5xx/errors:")
        for failure in f["first_failures"][:10]:
            print(f"    t={failure['t']}s {failure['op']} {failure['status']} {failure['body'][:160]}")


def _mb(tree: dict) -> str:
    return ", ".join(f"{k} {v / 1024:.1f} MB" for k, v in tree.items() if v)


def goals(f: dict) -> dict:
    return {
        "no_5xx_outside_outage": f["5xx_outside_outage"] == 0,
        "only_503_inside_outage": f["non_503_5xx_in_outage"] == 0,
        "no_event_lost_on_streams": f["streams"]["missing_total"] == 0,
        "no_webhook_lost": f["webhooks"]["missing"] == 0,
    }


def main() -> int:
    fd.check_tools()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for log in ("soak-redis.log", "soak-worker.log", "soak-beat.log"):  # appended to across restarts
        (fd.RESULTS / log).unlink(missing_ok=True)
    fd.step(f"redis-server on {redis_server.url} (private, no persistence)")
    redis_server.start()
    receiver = FakeServer(status=204).start("/soak-hook")
    server = fd.Server(2, fd.RESULTS / "soak-server.log")
    worker = common.Celery("worker", fd.RESULTS / "soak-worker.log")
    beat = common.Celery("beat", fd.RESULTS / "soak-beat.log")
    try:
        owner_key = fd.prepare_data()
        fd.step(f"slots and {PHONES} phones with API keys")
        out = fd.manage("shell", "-c", SEED.replace("__CAPACITY__", "5").replace("__PHONES__", str(PHONES)))
        seed = json.loads(next(x for x in out.splitlines() if x.startswith("SEED "))[5:])
        busy = fd.warn_if_busy()
        server.start()
        hook = httpx.post(
            f"{server.base}/admin/v1/webhooks",
            json={"url": receiver.url, "event_prefix": ""},
            headers={"Authorization": f"Bearer {owner_key}"},
            timeout=30,
        )
        if hook.status_code != 201:
            raise fd.BenchError(f"POST /admin/v1/webhooks -> {hook.status_code}: {hook.text[:500]}")
        seed.update(endpoint_id=hook.json()["id"], receiver=receiver)
        fd.step(f"webhook endpoint {receiver.url} registered; {len(seed['slots'])} slots")
        worker.start()
        beat.start()
        fd.step(
            f"load for {DURATION:.0f} s: {HOLDERS} holders, {REPORTERS} reporters, {PHONES} phones, {STREAMS} streams"
        )
        result = asyncio.run(soak(server, owner_key, seed, worker, beat))
    finally:
        beat.stop()
        worker.stop()
        server.stop()
        receiver.stop()
        redis_server.stop()

    f = figures(result, receiver)
    f["goals"] = goals(f)
    f["config"] = {
        "duration_s": DURATION,
        "worker_down_s": WORKER_DOWN,
        "redis_down_s": REDIS_DOWN,
        "streams": STREAMS,
        "holders": HOLDERS,
        "reporters": REPORTERS,
        "phones": PHONES,
        "ping_seconds": PING_SECONDS,
        "cpu_busy_pct_before": round(busy, 1),
        "cores": os.cpu_count(),
    }
    f["server_log_problems"] = fd.server_log_problems(server.log_path)[:50]
    print_report(f)
    print()
    for name, met in f["goals"].items():
        print(f"  {name:<34} {'MET' if met else 'NOT MET'}")
    if f["server_log_problems"]:
        print(f"\nserver log: {len(f['server_log_problems'])} warning/error line(s), first ones:")
        for line in f["server_log_problems"][:8]:
            print("   " + line[:300])
    out = fd.RESULTS / "soak.json"
    out.write_text(json.dumps(f, indent=2, default=str) + "\n")
    print(f"\nwritten: {out.relative_to(fd.ROOT)}")
    return 0 if all(f["goals"].values()) else 1


if __name__ == "__main__":
    fd.run_main(main)
