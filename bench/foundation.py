"""Foundation benchmark driver (run it through bench/run).

Brings up the production topology locally (PostgreSQL + Redis + uvicorn workers), seeds the
demo org plus ~60 extra members, then drives two endpoints with wrk at 50 connections:

  bare     GET /healthz                   plain Django JsonResponse, same middleware stack
  scoped   GET /v1/orgs/demo/members      API key auth, org-scoped, cursor-paginated (50/page)

Prints req/s, p50, p99 and errors per endpoint, the scoped/bare throughput ratio and whether
the targets are met, and writes the figures to bench/results/foundation.json.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"

DB_NAME = "schedkit_bench"
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
REDIS_URL = "redis://127.0.0.1:6379/3"
ORG = "demo"
EXTRA_MEMBERS = 60
PAGE_SIZE = 50

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
DURATION = os.environ.get("BENCH_DURATION", "15s")
WARMUP = "3s"
CONNECTIONS = 50
THREADS = 2

TARGET_RATIO_PCT = 40.0  # scoped throughput as % of bare
TARGET_SCOPED_P99_MS = 50.0

# Environment of every SchedKit process (manage.py and uvicorn).
APP_ENV = {
    **os.environ,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": "bench-secret",
    "SEED_DEMO": "1",  # seed_demo outside the embedded default needs the explicit opt-in
    "LOG_LEVEL": "WARNING",
    "THROTTLE_USER": "100000000/min",
    "THROTTLE_ANON": "100000000/min",
    "DEBUG": "false",
}

SEED_EXTRA_MEMBERS = f"""
from apps.accounts.models import User
from apps.orgs.models import Membership, Org
org = Org.objects.get(slug={ORG!r})
for i in range({EXTRA_MEMBERS}):
    user = User.objects.create_user(f"bench{{i:03d}}@bench.schedkit.local")
    Membership.objects.create(org=org, user=user, role="member")
print("members:", Membership.objects.filter(org=org).count())
"""


class BenchError(RuntimeError):
    pass


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def run(cmd: list[str], **kwargs) -> str:
    """Run a command; on failure show its output and stop."""
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def manage(*args: str) -> str:
    return run([sys.executable, "manage.py", *args], env=APP_ENV)


# --- setup ---------------------------------------------------------------------------------


def prepare_data() -> str:
    """Fresh database and Redis DB, migrate, seed; returns the demo API key."""
    step(f"database {DB_NAME} (drop + create), redis db 3 (flush)")
    run([*PSQL, "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"])
    run([*PSQL, "-d", "postgres", "-c", f"CREATE DATABASE {DB_NAME}"])
    redis.Redis.from_url(REDIS_URL).flushdb()

    step("migrate")
    manage("migrate", "--noinput")
    step("seed_demo")
    out = manage("seed_demo")
    match = re.search(r"Demo API key \(shown once\):\s*(sk_live_\S+)", out)
    if not match:
        raise BenchError(f"no API key in seed_demo output:\n{out}")
    step(f"{EXTRA_MEMBERS} extra members in org {ORG}")
    out = manage("shell", "-c", SEED_EXTRA_MEMBERS)
    print("   " + next(line for line in out.splitlines() if line.startswith("members:")), flush=True)
    return match.group(1)


def cpu_busy_pct(interval: float = 1.0) -> float:
    """Share of all cores busy (from /proc/stat) over a short window: other work competing."""

    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(interval)
    total1, idle1 = sample()
    return 100.0 * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn in its own process group, so the supervisor and its workers stop together."""

    def __init__(self, workers: int, log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        step(f"uvicorn on {self.base} with {self.workers} workers (log: {self.log_path.relative_to(ROOT)})")
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "schedkit.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=APP_ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        pidfile = os.environ.get("BENCH_PIDFILE")
        if pidfile:  # bench/run kills this group if we die without cleaning up
            Path(pidfile).write_text(str(self.proc.pid))
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"uvicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise BenchError(f"/healthz did not answer 200 within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None and not _group_alive(self.proc.pid):
            return
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(self.proc.pid):
                self.proc.poll()  # reap the supervisor
                time.sleep(0.1)
            if not _group_alive(self.proc.pid):
                break
        self.proc.poll()
        pidfile = os.environ.get("BENCH_PIDFILE")
        if pidfile:
            Path(pidfile).unlink(missing_ok=True)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def verify_scoped(url: str, key: str) -> None:
    """One request before the load: 200 with a full page of 50 members."""
    response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    if response.status_code != 200:
        raise BenchError(f"GET {url} -> {response.status_code}: {response.text[:500]}")
    results = response.json().get("results")
    if not isinstance(results, list) or len(results) != PAGE_SIZE:
        raise BenchError(f"GET {url}: expected {PAGE_SIZE} results, got {len(results or [])}")
    if not response.json().get("next"):
        raise BenchError(f"GET {url}: expected a next-page cursor (more than {PAGE_SIZE} members)")
    step(f"verified {url}: 200, {len(results)} results, next cursor present")


# --- load ----------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if not match:
        raise BenchError(f"cannot parse wrk duration {value!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests/sec, p50/p99 from --latency's distribution, request count and errors."""

    def grab(pattern: str) -> re.Match:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise BenchError(f"wrk output lacks {pattern!r}:\n{output}")
        return match

    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = {}
    if sock:
        socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
    return {
        "requests_per_sec": float(grab(r"^Requests/sec:\s*([\d.]+)").group(1)),
        "p50_ms": to_ms(grab(r"^\s*50%\s+(\S+)").group(1)),
        "p99_ms": to_ms(grab(r"^\s*99%\s+(\S+)").group(1)),
        "requests": int(grab(r"^\s*(\d+) requests in").group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors,
        "errors": (int(non2xx.group(1)) if non2xx else 0) + sum(socket_errors.values()),
    }


def wrk(url: str, duration: str, script: Path | None, env: dict) -> str:
    cmd = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}", "--latency", "--timeout", "10s"]
    if script is not None:
        cmd += ["-s", str(script)]
    return run([*cmd, url], env=env)


def measure(name: str, url: str, script: Path | None, env: dict) -> dict:
    step(f"{name}: warm-up {WARMUP}, then {DURATION} at {CONNECTIONS} connections")
    wrk(url, WARMUP, script, env)
    output = wrk(url, DURATION, script, env)
    (RESULTS / f"wrk-{name}.txt").write_text(output)
    figures = parse_wrk(output)
    if figures["non_2xx"]:
        raise BenchError(f"{name}: wrk saw {figures['non_2xx']} non-2xx responses:\n{output}")
    if figures["errors"]:
        raise BenchError(f"{name}: wrk saw socket errors {figures['socket_errors']}:\n{output}")
    return figures


# --- report --------------------------------------------------------------------------------


def server_log_problems(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [line for line in text.splitlines() if re.search(r"ERROR|CRITICAL|Traceback|\"level\": \"WARNING\"", line)]


def report(results: dict, log_problems: list[str], cpu_busy_before: float) -> dict:
    bare, scoped = results["bare"], results["scoped"]
    ratio = 100.0 * scoped["requests_per_sec"] / bare["requests_per_sec"]
    targets = {
        "ratio_pct": {
            "value": round(ratio, 1),
            "target": f">= {TARGET_RATIO_PCT:.0f}",
            "met": ratio >= TARGET_RATIO_PCT,
        },
        "scoped_p99_ms": {
            "value": scoped["p99_ms"],
            "target": f"<= {TARGET_SCOPED_P99_MS:.0f}",
            "met": scoped["p99_ms"] <= TARGET_SCOPED_P99_MS,
        },
    }
    print()
    print(
        f"Foundation benchmark: {WORKERS} uvicorn workers, wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'endpoint':<32} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for figures in (bare, scoped):
        print(
            f"{figures['endpoint']:<32} {figures['requests_per_sec']:>10.1f} {figures['p50_ms']:>9.2f} "
            f"{figures['p99_ms']:>9.2f} {figures['errors']:>7}"
        )
    print()
    print(
        f"ratio org-scoped/bare throughput: {ratio:.1f} %  "
        f"(target >= {TARGET_RATIO_PCT:.0f} %: {'MET' if targets['ratio_pct']['met'] else 'NOT MET'})"
    )
    print(
        f"org-scoped p99: {scoped['p99_ms']:.2f} ms  "
        f"(target <= {TARGET_SCOPED_P99_MS:.0f} ms: {'MET' if targets['scoped_p99_ms']['met'] else 'NOT MET'})"
    )
    if log_problems:
        print(f"\nserver log has {len(log_problems)} warning/error line(s), first ones:")
        for line in log_problems[:5]:
            print("   " + line[:300])
    return {
        "benchmark": "foundation",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {
            "workers": WORKERS,
            "duration": DURATION,
            "warmup": WARMUP,
            "connections": CONNECTIONS,
            "threads": THREADS,
            "cores": os.cpu_count(),
            "extra_members": EXTRA_MEMBERS,
        },
        "cpu_busy_pct_before": round(cpu_busy_before, 1),
        "results": results,
        "ratio_pct": round(ratio, 1),
        "targets": targets,
        "all_targets_met": all(t["met"] for t in targets.values()),
        "server_log_problems": len(log_problems),
    }


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    for tool in ("wrk", "psql"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise BenchError(f"{tool} not found (bench/run installs wrk)")

    key = prepare_data()
    busy = cpu_busy_pct()
    if busy > 20:  # wrk and the workers need the cores to themselves for stable figures
        print(
            f"!! CPU is {busy:.0f} % busy before the run: other work on this machine will skew the figures", flush=True
        )
    server = Server(WORKERS, RESULTS / "server.log")
    # Ctrl-C / SIGTERM become exceptions so the finally below always stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.start()
        endpoints = {
            "bare": ("GET /healthz", f"{server.base}/healthz", None),
            "scoped": (f"GET /v1/orgs/{ORG}/members", f"{server.base}/v1/orgs/{ORG}/members", BENCH / "auth.lua"),
        }
        verify_scoped(endpoints["scoped"][1], key)
        wrk_env = {**os.environ, "BENCH_API_KEY": key}
        results = {}
        for name, (label, url, script) in endpoints.items():
            results[name] = {"endpoint": label, **measure(name, url, script, wrk_env)}
    finally:
        server.stop()

    summary = report(results, server_log_problems(server.log_path), busy)
    out = RESULTS / "foundation.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
