"""Signals benchmark: the beacon fast path (run it through `bench/run signals`).

Brings up the production topology locally (PostgreSQL database `schedkit_bench_signals`,
Redis DB 6, uvicorn workers; helpers from bench/foundation.py), seeds org `demo` plus
PHONES responders, each with an API key and a started beacon (the first, persisted ping),
then measures:

  bare        GET /healthz with wrk (the baseline of this machine)
  http        POST /v1/signals/beacon with wrk, keys rotated over the responders
  ws          beacon pings over the org websocket (WS_PHONES sockets, ack-paced pipelines of
              BENCH_WS_WINDOW, then an unpaced flood of BENCH_FLOOD_WINDOW in flight each),
              SUBSCRIBERS (20) war-room websockets reading every `signal.beacon`: pings/s
              accepted (acked), position staleness (ping sent → frame read, p50/p99; the
              ping's sequence number travels in `speed`), frames read of those published
              (positions are coalesced per responder for a slow socket, so fewer is fine),
              and whether every subscriber ends with every responder's last position
  latency     ping → subscriber over HTTP pings at LATENCY_RATE/s (p50/p99, delivered/expected)
  layer       BENCH_CHANNEL_LAYER=pubsub serves with RedisPubSubChannelLayer instead of the
              project's RedisChannelLayer subclass (CHANNEL_LAYER_VARIANT); beacon positions
              take the ephemeral hub (apps/events/ephemeral.py) on either, so it changes only
              the persisted events' path
  deflate     BENCH_WS_DEFLATE=true serves websockets with permessage-deflate (bin/run: off)
  db writes   rows inserted/updated/deleted in the database (pg_stat_database) per ping

Everything stays on loopback and runs for a fixed time. Figures go to
bench/results/signals.json.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
import foundation as fd  # noqa: E402

PHONES = int(os.environ.get("BENCH_PHONES", "50"))
SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "20"))  # issue 16: 20 sockets subscribed
WS_PHONES = int(os.environ.get("BENCH_WS_PHONES", "10"))  # each ping fans out to every org socket
WS_SECONDS = float(os.environ.get("BENCH_WS_SECONDS", "10"))
WS_WINDOW = int(os.environ.get("BENCH_WS_WINDOW", "4"))  # pings in flight per phone socket
FLOOD_WINDOW = int(
    os.environ.get("BENCH_FLOOD_WINDOW", "64")
)  # the unpaced flood: far more than the server keeps up with
SETTLE_SECONDS = float(
    os.environ.get("BENCH_SETTLE_SECONDS", "10")
)  # for every subscriber to see every latest position
LAYER = os.environ.get("BENCH_CHANNEL_LAYER", "redis")  # redis (RedisChannelLayer) or pubsub (RedisPubSubChannelLayer)
DEFLATE = fd.WS_DEFLATE  # BENCH_WS_DEFLATE
LATENCY_RATE = int(os.environ.get("BENCH_LATENCY_RATE", "50"))  # 50 responders pinging every second
LATENCY_SECONDS = 10.0

fd.configure("signals", 6, EMBEDDED_WORKER="false", CHANNEL_LAYER_VARIANT=LAYER)
DB_NAME = fd.DB_NAME

SEED_PHONES = """
import json
from apps.accounts.services import api_key_create
from apps.accounts.models import User
from apps.orgs.models import Membership, Org
from apps.orgs.tenancy import Actor
org = Org.objects.get(slug="demo")
keys = {"phones": [], "dispatchers": []}
for kind, role, count in (("phones", "member", %(phones)d), ("dispatchers", "scheduler", %(subscribers)d)):
    for i in range(count):
        user = User.objects.create_user(f"{kind}{i:03d}@bench.schedkit.local")
        m = Membership.objects.create(org=org, user=user, role=role)
        actor = Actor(user=user, org=org, role=role, membership_id=m.pk)
        keys[kind].append(api_key_create(actor=actor, name="bench")[1])
print("KEYS " + json.dumps(keys))
"""

PING_LUA = """
local keys = {}
for k in string.gmatch(os.getenv("BENCH_KEYS"), "[^,]+") do table.insert(keys, k) end
local i = 0
request = function()
  i = i + 1
  local key = keys[(i % #keys) + 1]
  local body = string.format('{"lat":%.5f,"lng":-3.70}', 40 + (i % 1000) / 10000)
  return wrk.format("POST", "/v1/signals/beacon",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end
"""


def db_writes() -> int:
    out = fd.run(
        [
            *fd.PSQL,
            "-d",
            "postgres",
            "-At",
            "-c",
            f"SELECT tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = '{DB_NAME}'",
        ]
    )
    return int(out.strip() or 0)


def settled_db_writes() -> int:
    time.sleep(1.5)  # backends report their counters about once a second
    return db_writes()


def seed() -> dict:
    fd.prepare_data()
    fd.step(f"{PHONES} responders and {SUBSCRIBERS} dispatchers with API keys")
    out = fd.manage("shell", "-c", SEED_PHONES % {"phones": PHONES, "subscribers": SUBSCRIBERS})
    return json.loads(next(line for line in out.splitlines() if line.startswith("KEYS "))[5:])


def start_beacons(base: str, keys: list[str]) -> None:
    fd.step("first ping of every responder (beacon_on, persisted)")
    with httpx.Client(timeout=10) as http:
        for key in keys:
            response = http.post(
                f"{base}/v1/signals/beacon", headers={"Authorization": f"Bearer {key}"}, json={"lat": 40, "lng": -3.7}
            )
            if response.status_code not in (200, 201):
                raise fd.BenchError(f"beacon ping answered {response.status_code}: {response.text}")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


class Subscribers:
    """War-room sockets counting every signal.beacon and its latency from the send time."""

    def __init__(self, ws_base: str, keys: list[str]):
        self.ws_base, self.keys = ws_base, keys
        self.sent: dict[tuple[str, int], float] = {}  # (membership_id, seq) → send time
        self.latencies: list[float] = []
        self.received = 0
        self.sockets: list = []
        self.tasks: list = []
        self.latest: list[dict[str, int]] = []  # per subscriber: membership_id → newest seq received
        self.out_of_order = 0  # a position older than one already received (coalescing must not do that)

    async def __aenter__(self):
        for key in self.keys:
            ws = await websockets.connect(
                f"{self.ws_base}/ws/orgs/demo/", additional_headers={"Authorization": f"Bearer {key}"}, max_queue=None
            )
            await ws.recv()  # connected
            self.sockets.append(ws)
            self.latest.append({})
            self.tasks.append(asyncio.ensure_future(self._read(ws, self.latest[-1])))
        return self

    async def _read(self, ws, latest: dict):
        async for raw in ws:
            now = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") != "signal.beacon":
                continue
            self.received += 1
            data = message["data"]
            seq = int(data.get("speed") or -1)
            member = data["membership_id"]
            if seq < latest.get(member, -1):
                self.out_of_order += 1
            else:
                latest[member] = seq
            sent = self.sent.get((member, seq))
            if sent is not None:
                self.latencies.append((now - sent) * 1000)

    def with_latest(self, final: dict[str, int]) -> int:
        """Subscribers whose newest position of every responder is the responder's last ping."""
        return sum(1 for latest in self.latest if all(latest.get(m) == seq for m, seq in final.items()))

    async def settle(self, final: dict[str, int], timeout: float) -> float:
        """Wait until every subscriber has every responder's last position; the seconds it took."""
        started = time.monotonic()
        while self.with_latest(final) < len(self.latest) and time.monotonic() - started < timeout:
            await asyncio.sleep(0.02)
        return time.monotonic() - started

    async def drain(self, expected: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.received < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def __aexit__(self, *exc):
        for task in self.tasks:
            task.cancel()
        for ws in self.sockets:
            await ws.close()


async def membership_ids(base: str, keys: list[str]) -> list[str]:
    """Each phone's membership id, from its (already started) beacon's live position."""
    ids = []
    async with httpx.AsyncClient(timeout=10) as http:
        for key in keys:
            response = await http.post(
                f"{base}/v1/signals/beacon", headers={"Authorization": f"Bearer {key}"}, json={"lat": 40, "lng": -3.7}
            )
            ids.append(response.json()["membership_id"])
    return ids


async def ws_run(server, phones: list[str], dispatchers: list[str], window: int = WS_WINDOW) -> dict:
    phones = phones[:WS_PHONES]
    fd.step(
        f"ws: {len(phones)} phone sockets pinging for {WS_SECONDS:.0f}s ({window} in flight each), "
        f"{len(dispatchers)} subscribers"
    )
    members = await membership_ids(server.base, phones)
    ws_base = server.base.replace("http://", "ws://")
    acked = 0
    errors = 0
    final: dict[str, int] = {}  # membership_id → the last seq each phone sent (all acked at the end)
    async with Subscribers(ws_base, dispatchers) as subs:
        await subs.drain(len(phones) * len(dispatchers), timeout=2)  # the id look-up pings
        baseline = subs.received

        async def phone(key: str, member: str, deadline: float):
            nonlocal acked, errors
            async with websockets.connect(
                f"{ws_base}/ws/orgs/demo/", additional_headers={"Authorization": f"Bearer {key}"}, max_queue=None
            ) as ws:
                seq = 0
                in_flight = 0
                while True:
                    while in_flight < window and time.perf_counter() < deadline:
                        seq += 1
                        final[member] = seq
                        subs.sent[(member, seq)] = time.perf_counter()
                        ping = {"type": "beacon", "lat": 40 + (seq % 1000) / 10000, "lng": -3.7, "speed": seq}
                        await ws.send(json.dumps(ping))
                        in_flight += 1
                    if in_flight == 0:
                        return
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if message["type"] == "beacon.ack":
                        acked += 1
                        in_flight -= 1
                    elif message["type"] == "error":
                        errors += 1
                        in_flight -= 1

        started = time.perf_counter()
        deadline = started + WS_SECONDS
        await asyncio.gather(*(phone(k, m, deadline) for k, m in zip(phones, members, strict=True)))
        elapsed = time.perf_counter() - started
        expected = acked * len(dispatchers)
        settled = await subs.settle(final, SETTLE_SECONDS)
        delivered = subs.received - baseline
        with_latest = subs.with_latest(final)
    return {
        "pings": acked,
        "errors": errors,
        "window": window,
        "pings_per_sec": round(acked / elapsed, 1),
        "phone_sockets": len(phones),
        "subscribers": len(dispatchers),
        "fan_out_per_ping": len(phones) + len(dispatchers),
        "delivered": delivered,
        "expected": expected,
        "subscribers_with_every_latest_position": with_latest,
        "settled_after_s": round(settled, 2),
        "out_of_order": subs.out_of_order,
        # each received position's age: ping sent → frame read (a coalesced, skipped one is never read)
        "staleness_p50_ms": round(percentile(subs.latencies, 50), 2),
        "staleness_p99_ms": round(percentile(subs.latencies, 99), 2),
    }


async def http_latency_run(server, phones: list[str], dispatchers: list[str]) -> dict:
    fd.step(f"http latency: {LATENCY_RATE} pings/s for {LATENCY_SECONDS:.0f}s, {SUBSCRIBERS} subscribers")
    members = await membership_ids(server.base, phones)
    ws_base = server.base.replace("http://", "ws://")
    statuses: dict[int, int] = {}
    async with Subscribers(ws_base, dispatchers) as subs, httpx.AsyncClient(timeout=10) as http:
        await subs.drain(len(phones) * len(dispatchers), timeout=2)
        baseline = subs.received
        total = int(LATENCY_RATE * LATENCY_SECONDS)

        async def one(i: int):
            key, member = phones[i % len(phones)], members[i % len(phones)]
            subs.sent[(member, i + 1)] = time.perf_counter()
            response = await http.post(
                f"{server.base}/v1/signals/beacon",
                headers={"Authorization": f"Bearer {key}"},
                json={"lat": 40, "lng": -3.7, "speed": i + 1},
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        pending = []
        started = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, started + i / LATENCY_RATE - time.perf_counter()))
            pending.append(asyncio.ensure_future(one(i)))
        await asyncio.gather(*pending)
        ok = statuses.get(200, 0)
        await subs.drain(baseline + ok * len(dispatchers))
        delivered = subs.received - baseline
    return {
        "pings": total,
        "statuses": statuses,
        "delivered": delivered,
        "expected": ok * len(dispatchers),
        "latency_p50_ms": round(percentile(subs.latencies, 50), 2),
        "latency_p99_ms": round(percentile(subs.latencies, 99), 2),
    }


def main() -> int:
    fd.RESULTS.mkdir(parents=True, exist_ok=True)
    for tool in ("wrk", "psql"):
        if fd.subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise fd.BenchError(f"{tool} not found (bench/run installs wrk)")
    keys = seed()
    fd.warn_if_busy()
    reference = fd.bare_reference("signals")
    server = fd.Server(fd.WORKERS, fd.RESULTS / "signals-server.log")
    fd.signal.signal(fd.signal.SIGTERM, lambda *_: sys.exit(143))
    lua = fd.RESULTS / "signals-ping.lua"
    lua.write_text(PING_LUA)
    results: dict = {"channel_layer": LAYER, "ws_deflate": DEFLATE}
    try:
        server.start()
        start_beacons(server.base, keys["phones"])
        results["bare"] = {"endpoint": "GET /healthz", **fd.measure("signals-bare", f"{server.base}/healthz", None, {})}

        wrk_env = {**os.environ, "BENCH_KEYS": ",".join(keys["phones"])}
        url = f"{server.base}/v1/signals/beacon"
        before = settled_db_writes()
        http = fd.measure("signals-http-ping", url, lua, wrk_env)  # warm-up + measured run
        writes = settled_db_writes() - before
        results["http"] = {"endpoint": "POST /v1/signals/beacon", **http}
        results["ws"] = asyncio.run(ws_run(server, keys["phones"], keys["dispatchers"]))
        results["ws_flood"] = asyncio.run(ws_run(server, keys["phones"], keys["dispatchers"], FLOOD_WINDOW))
        with httpx.Client(timeout=10) as http:  # still serving after the flood?
            results["alive_after_flood"] = http.get(f"{server.base}/healthz").status_code == 200
        before_ws = settled_db_writes()
        results["http_latency"] = asyncio.run(http_latency_run(server, keys["phones"], keys["dispatchers"]))
        latency_writes = settled_db_writes() - before_ws
    finally:
        server.stop()

    http_pings = results["http"]["requests"]  # the warm-up's pings wrote (nothing) too: an upper bound
    results["db_writes"] = {
        "during_wrk_runs": writes,
        "wrk_pings_measured_run": results["http"]["requests"],
        "per_ping_upper_bound": round(writes / max(http_pings, 1), 5),
        "during_latency_and_ws_runs": latency_writes,
        "note": "rows written include API keys' last_used_at (at most once a minute per key)",
    }
    results["server_log_problems"] = fd.server_log_problems(server.log_path)[:20]
    results["bare_reference"] = reference
    bare, http, ws, lat = results["bare"], results["http"], results["ws"], results["http_latency"]
    print()
    fd.print_table(
        [(reference["json"], None), (reference["drf"], None), (bare, reference["json"]), (http, reference["drf"])],
        "ratios to the bare reference (bench/bare, served the same way) of this run",
    )
    ws_pct = 100 * ws["pings_per_sec"] / reference["drf"]["requests_per_sec"]
    print(f"ws pings/s as % of the bare one-query DRF view: {ws_pct:.1f} %")
    print(f"bare   GET /healthz                {bare['requests_per_sec']:>10.0f} req/s  p99 {bare['p99_ms']:.1f} ms")
    print(f"http   POST /v1/signals/beacon     {http['requests_per_sec']:>10.0f} pings/s p99 {http['p99_ms']:.1f} ms")
    print(
        f"ws     beacon over /ws/orgs/demo/  {ws['pings_per_sec']:>10.0f} pings/s ({ws['errors']} errors; "
        f"{ws['phone_sockets']} phone sockets, each ping fanned out to {ws['fan_out_per_ping']} sockets)"
    )
    print(f"channel layer: {LAYER} ({'RedisPubSubChannelLayer' if LAYER == 'pubsub' else 'RedisChannelLayer'})")
    print(f"websocket permessage-deflate: {DEFLATE}")
    for label, run in (("ws, paced", ws), ("ws, flood", results["ws_flood"])):
        print(
            f"{label} ({run['window']} in flight/phone): {run['pings_per_sec']:.0f} pings/s accepted, "
            f"{run['subscribers']} subscribers; position staleness p50 {run['staleness_p50_ms']} ms "
            f"p99 {run['staleness_p99_ms']} ms; frames {run['delivered']}/{run['expected']} (coalesced); "
            f"subscribers with every latest position {run['subscribers_with_every_latest_position']}/"
            f"{run['subscribers']} (after {run['settled_after_s']} s); out of order {run['out_of_order']}; "
            f"errors {run['errors']}"
        )
    print(f"server answering after the flood: {results['alive_after_flood']}")
    print(
        f"ping→subscriber, http {LATENCY_RATE}/s: p50 {lat['latency_p50_ms']} ms  p99 {lat['latency_p99_ms']} ms  "
        f"delivered {lat['delivered']}/{lat['expected']}  statuses {lat['statuses']}"
    )
    print(
        f"db writes per ping (wrk warm-up + run / measured pings): {results['db_writes']['per_ping_upper_bound']} "
        f"({writes} rows for >= {http_pings} pings); during ws+latency runs: {latency_writes} rows"
    )
    if results["server_log_problems"]:
        print(f"!! server log problems: {len(results['server_log_problems'])} (see signals-server.log)")
    out = fd.RESULTS / "signals.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten: {out.relative_to(fd.ROOT)}")
    return 0


if __name__ == "__main__":
    fd.run_main(main)
