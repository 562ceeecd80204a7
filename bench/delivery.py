"""Delivery benchmark (run it through `bench/run delivery`).

Own PostgreSQL database (schedkit_bench_delivery, recreated), Redis DB 6 (the broker queue is
emptied first), loopback only. Starts a local webhook receiver (ThreadingHTTPServer in this
process) and a real Celery worker process (prefork, BENCH_CONCURRENCY children, embedded beat
running the outbox relay and the webhook sweep), with the production delivery settings, then:

  A  2,000 events × 3 endpoints, receiver answering 204: webhooks/s (first publish → last
     delivery), p50/p99 event→delivery latency (event `ts` → receipt)
  B  the same with the receiver answering 500 for the first 30 s (BENCH_OUTAGE_SECONDS):
     all delivered?, time to drain (first publish → last delivery), retries, duplicates

Prints the figures and writes bench/results/delivery.json.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fakes import FakeServer  # noqa: E402

DB_NAME = "schedkit_bench_delivery"
REDIS_URL = (
    os.environ.get("BENCH_REDIS_URL")
    or f"{os.environ.get('BENCH_REDIS', 'redis://127.0.0.1:6379')}/{os.environ.get('BENCH_REDIS_DB', '6')}"
)
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
ENDPOINTS = 3
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
OUTAGE = float(os.environ.get("BENCH_OUTAGE_SECONDS", "30"))
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
ENV = {
    **os.environ,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "REDIS_KEY_PREFIX": "bench-delivery",
    "SECRET_KEY": "bench-secret",
    "LOG_LEVEL": "WARNING",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "EMBEDDED_WORKER": "false",
    "DEBUG": "false",
}

SEED = """
from apps.events.models import WebhookEndpoint
from apps.events.webhooks import new_secret
from apps.orgs.models import Org
org = Org.objects.create(slug="bench", name="Bench")
for url in {urls!r}:
    WebhookEndpoint.objects.create(org=org, url=url, secret=new_secret())
"""

PUBLISH = """
import time
from apps.events.publish import publish_on_commit
from apps.orgs.models import Org
org = Org.objects.get(slug="bench")
started = time.time()
for n in range({n}):
    publish_on_commit(org=org, type={type!r}, data={{"n": n}})
print("published", {n}, "in", round(time.time() - started, 2), "s")
"""

COUNTS = """
from django.db.models import Count
from apps.events.models import Event, WebhookDelivery
print(dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")))
print("undispatched", Event.objects.filter(dispatched_at__isnull=True).count())
"""


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def run(cmd, **kwargs) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:4]))} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def manage(*args) -> str:
    return run([sys.executable, "manage.py", *args], env=ENV)


def start_worker(var: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "schedkit", "worker", "-B", "-s", f"{var}/beat"]
        + ["--pool=prefork", f"--concurrency={CONCURRENCY}", "--loglevel=INFO"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    proc.lines = []
    threading.Thread(target=lambda: proc.lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    deadline = time.monotonic() + 60
    while not any(" ready." in line for line in proc.lines):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("worker did not start:\n" + "".join(proc.lines[-30:]))
        time.sleep(0.2)
    return proc


def stop_worker(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def pct(values, q) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def phase(name: str, receiver: FakeServer, event_type: str, timeout: float) -> dict:
    expected = EVENTS * ENDPOINTS
    first = len(receiver.requests)
    started = time.time()
    print("  " + manage("shell", "-c", PUBLISH.format(n=EVENTS, type=event_type)).strip(), flush=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = {r.headers["webhook-id"] for r in receiver.requests[first:] if r.ok}
        if len(ok) >= expected:
            break
        time.sleep(0.5)
    requests = receiver.requests[first:]
    delivered = [r for r in requests if r.ok]
    ids = Counter(r.headers["webhook-id"] for r in delivered)
    latencies = [(r.at - datetime.fromisoformat(json.loads(r.body)["ts"]).timestamp()) * 1000 for r in delivered]
    last = max((r.at for r in delivered), default=time.time())
    result = {
        "phase": name,
        "events": EVENTS,
        "endpoints": ENDPOINTS,
        "webhooks_expected": expected,
        "webhooks_delivered": len(ids),
        "all_delivered": len(ids) == expected,
        "duplicates_2xx": sum(n - 1 for n in ids.values()),
        "requests": len(requests),
        "failed_tries": len(requests) - len(delivered),
        "seconds_to_drain": round(last - started, 1),
        "webhooks_per_s": round(len(ids) / max(last - started, 1e-9), 1),
        "latency_p50_ms": round(pct(latencies, 50)),
        "latency_p99_ms": round(pct(latencies, 99)),
    }
    print(json.dumps(result, indent=2), flush=True)
    return result


def main() -> int:
    step(f"database {DB_NAME} (drop + create), broker queue emptied")
    run([*PSQL, "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"])
    run([*PSQL, "-d", "postgres", "-c", f"CREATE DATABASE {DB_NAME}"])
    redis.Redis.from_url(REDIS_URL).delete("celery", "unacked", "unacked_index")
    manage("migrate", "--noinput")

    outage_until = [0.0]

    def answer(received):
        received.ok = time.time() >= outage_until[0]
        return (204 if received.ok else 500), b""

    receiver = FakeServer(answer=answer).start("/hooks/0")
    base = receiver.url.rsplit("/", 1)[0]
    manage("shell", "-c", SEED.format(urls=[f"{base}/{i}" for i in range(ENDPOINTS)]))
    var = tempfile.mkdtemp(prefix="bench-delivery-")
    step(f"worker: prefork × {CONCURRENCY} with beat")
    worker = start_worker(var)
    try:
        step(f"A: {EVENTS} events × {ENDPOINTS} endpoints, receiver answering 204")
        a = phase("A", receiver, "bench.a", timeout=600)
        step(f"B: {EVENTS} events × {ENDPOINTS} endpoints, receiver answering 500 for the first {OUTAGE:.0f} s")
        outage_until[0] = time.time() + OUTAGE
        b = phase("B", receiver, "bench.b", timeout=900)
        print("  " + manage("shell", "-c", COUNTS).strip().replace("\n", "\n  "), flush=True)
    finally:
        stop_worker(worker)
        receiver.stop()
        shutil.rmtree(var, ignore_errors=True)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "delivery.json").write_text(json.dumps({"A": a, "B": b}, indent=2))
    step("summary")
    print(
        f"  A: {a['webhooks_per_s']} webhooks/s, p50 {a['latency_p50_ms']} ms, p99 {a['latency_p99_ms']} ms, "
        f"all delivered: {a['all_delivered']}, duplicates: {a['duplicates_2xx']}"
    )
    print(
        f"  B: drained in {b['seconds_to_drain']} s ({b['failed_tries']} failed tries during the outage), "
        f"all delivered: {b['all_delivered']}, duplicates: {b['duplicates_2xx']}, p99 {b['latency_p99_ms']} ms"
    )
    return 0 if a["all_delivered"] and b["all_delivered"] else 1


if __name__ == "__main__":
    sys.exit(main())
