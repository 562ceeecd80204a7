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

# Where the benches keep their data. BENCH_DB_PREFIX and BENCH_REDIS_DB let a run avoid
# databases someone else is using on a shared machine (every bench then uses that Redis DB,
# flushing it first).
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "schedkit_bench")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
DB_NAME = DB_PREFIX
REDIS_URL = f"{REDIS_BASE}/{os.environ.get('BENCH_REDIS_DB', '3')}"
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
ORG = "demo"
EXTRA_MEMBERS = 60
PAGE_SIZE = 50

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
DURATION = os.environ.get("BENCH_DURATION", "15s")
WARMUP = "3s"
CONNECTIONS = 50
THREADS = 2
# How SchedKit (and the bare reference, the same way) is served: see SERVERS below.
SERVER_KIND = os.environ.get("BENCH_SERVER", "production")

TARGET_HEALTHZ_PCT = 70.0  # /healthz throughput as % of the bare JSON view
TARGET_RATIO_PCT = 40.0  # members list throughput as % of the bare one-query DRF view
TARGET_SCOPED_P99_MS = 50.0  # members list p99 at 10 connections
P99_CONNECTIONS = 10

# Environment of every SchedKit process (manage.py and the servers).
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


def configure(name: str, redis_db: int, **extra_env: str) -> None:
    """Give a bench its own database (schedkit_bench_NAME) and Redis DB."""
    global DB_NAME, REDIS_URL, APP_ENV
    DB_NAME = f"{DB_PREFIX}_{name}"
    REDIS_URL = f"{REDIS_BASE}/{os.environ.get('BENCH_REDIS_DB', str(redis_db))}"
    APP_ENV = {
        **APP_ENV,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"bench-{name}",
        **extra_env,
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
    step(f"database {DB_NAME} (drop + create), {REDIS_URL} (flush)")
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
    step("bare reference table (bench/bare)")
    run([sys.executable, str(BENCH / "bare" / "seed.py")], env=bare_env())
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


def server_command(kind: str, project: str, port: int, workers: int) -> list[str]:
    """The command line serving `project` ("schedkit", or "bare" for the reference) the `kind` way.

    production      what bin/run and docker-compose run for HTTP (PRODUCTION_KIND)
    uvicorn         ASGI, uvloop + httptools
    gunicorn        WSGI, gthread workers (keep-alive) — plain HTTP only
    granian         ASGI on granian (Rust HTTP server)
    granian-wsgi    WSGI on granian
    """
    kind = PRODUCTION_KIND if kind == "production" else kind
    asgi, wsgi = f"{project}.asgi:application", f"{project}.wsgi:application"
    host = ["--host", "127.0.0.1", "--port", str(port)]
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", asgi, *host, "--workers", str(workers), "--no-access-log",
                "--loop", "uvloop", "--http", "httptools", "--ws-per-message-deflate", WS_DEFLATE]  # fmt: skip
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", wsgi, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                "--worker-class", "gthread", "--threads", GUNICORN_THREADS, "--keep-alive", "75"]  # fmt: skip
    if kind in ("granian", "granian-wsgi"):
        interface = "asgi" if kind == "granian" else "wsgi"
        return [sys.executable, "-m", "granian", "--interface", interface, *host, "--workers", str(workers),
                "--no-access-log", asgi if interface == "asgi" else wsgi]  # fmt: skip
    raise BenchError(f"unknown BENCH_SERVER {kind!r}")


# How bin/run and docker-compose serve plain HTTP in the production topology.
PRODUCTION_KIND = "uvicorn"
# permessage-deflate for websockets: off as bin/run serves; BENCH_WS_DEFLATE=true measures it on.
WS_DEFLATE = os.environ.get("BENCH_WS_DEFLATE", "false")
GUNICORN_THREADS = os.environ.get("BENCH_GUNICORN_THREADS", "4")


def bare_env() -> dict:
    """The bare reference project runs against the bench's own database."""
    return {**APP_ENV, "DJANGO_SETTINGS_MODULE": "bare.settings", "PYTHONPATH": str(BENCH)}


class Server:
    """A server in its own process group, so the supervisor and its workers stop together."""

    def __init__(self, workers: int, log_path: Path, kind: str | None = None, project: str = "schedkit"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        self.kind = kind or SERVER_KIND
        self.project = project
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = server_command(self.kind, self.project, self.port, self.workers)
        step(
            f"{self.project}: {Path(cmd[2]).name} ({self.kind}) on {self.base} with {self.workers} workers "
            f"(log: {self.log_path.relative_to(ROOT)})"
        )
        env = bare_env() if self.project == "bare" else APP_ENV
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        pidfile = os.environ.get("BENCH_PIDFILE")
        if pidfile:  # bench/run kills these groups if we die without cleaning up
            with open(pidfile, "a") as f:
                f.write(f"{self.proc.pid}\n")
        self.wait_healthy("/json" if self.project == "bare" else "/healthz")

    def wait_healthy(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.kind} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise BenchError(f"{path} did not answer 200 within {timeout:.0f}s:\n{self.log_tail()}")

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
        if pidfile and Path(pidfile).exists():  # stopped: bench/run must not signal a reused pid
            kept = [line for line in Path(pidfile).read_text().split() if line != str(self.proc.pid)]
            Path(pidfile).write_text("".join(f"{pid}\n" for pid in kept))

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


def wrk(url: str, duration: str, script: Path | None, env: dict, connections: int | None = None) -> str:
    connections = connections or CONNECTIONS
    cmd = [
        "wrk",
        f"-t{min(THREADS, connections)}",
        f"-c{connections}",
        f"-d{duration}",
        "--latency",
        "--timeout",
        "10s",
    ]
    if script is not None:
        cmd += ["-s", str(script)]
    return run([*cmd, url], env=env)


def measure(name: str, url: str, script: Path | None, env: dict, connections: int | None = None) -> dict:
    step(f"{name}: warm-up {WARMUP}, then {DURATION} at {connections or CONNECTIONS} connections")
    wrk(url, WARMUP, script, env, connections)
    output = wrk(url, DURATION, script, env, connections)
    (RESULTS / f"wrk-{name}.txt").write_text(output)
    figures = parse_wrk(output)
    if figures["non_2xx"]:
        raise BenchError(f"{name}: wrk saw {figures['non_2xx']} non-2xx responses:\n{output}")
    if figures["errors"]:
        raise BenchError(f"{name}: wrk saw socket errors {figures['socket_errors']}:\n{output}")
    return figures


# --- the bare reference ------------------------------------------------------------------


def bare_reference(tag: str, connections: int | None = None) -> dict:
    """Serve bench/bare the same way and with as many processes as SchedKit, measure its JSON
    view and its one-query DRF view with wrk, stop it. Every bench calls this in its own run."""
    server = Server(WORKERS, RESULTS / f"server-{tag}-bare.log", project="bare")
    try:
        server.start()
        figures = {
            "json": {"endpoint": "bare GET /json", **measure(f"{tag}-bare-json", f"{server.base}/json", None, {})},
            "drf": {
                "endpoint": "bare GET /drf (1 query)",
                **measure(f"{tag}-bare-drf", f"{server.base}/drf", None, {}),
            },
        }
        if connections:
            figures[f"drf_c{connections}"] = {
                "endpoint": f"bare GET /drf, {connections} conn",
                **measure(f"{tag}-bare-drf-c{connections}", f"{server.base}/drf", None, {}, connections=connections),
            }
    finally:
        server.stop()
    return figures


def print_table(rows: list[tuple[dict, dict | None]], title: str) -> None:
    """rows: (figures, reference figures or None); the ratio is throughput against the reference."""
    print(title)
    print(f"{'endpoint':<44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  {'ratio to bare':<24}")
    for figures, ref in rows:
        ratio = ""
        if ref is not None:
            ratio = f"{100.0 * figures['requests_per_sec'] / ref['requests_per_sec']:5.1f} % of {ref['endpoint']}"
        print(
            f"{figures['endpoint']:<44} {figures['requests_per_sec']:>9.1f} {figures['p50_ms']:>8.2f} "
            f"{figures['p99_ms']:>8.2f} {figures['errors']:>6}  {ratio}"
        )


def ratio_pct(figures: dict, ref: dict) -> float:
    return round(100.0 * figures["requests_per_sec"] / ref["requests_per_sec"], 1)


# --- report --------------------------------------------------------------------------------


def server_log_problems(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [line for line in text.splitlines() if re.search(r"ERROR|CRITICAL|Traceback|\"level\": \"WARNING\"", line)]


def target(value: float, op: str, goal: float) -> dict:
    met = value >= goal if op == ">=" else value <= goal
    return {"value": value, "target": f"{op} {goal:g}", "met": met}


def print_targets(targets: dict) -> None:
    for name, t in targets.items():
        print(f"  {name:<34} {t['value']:>8}   target {t['target']:<8} {'MET' if t['met'] else 'NOT MET'}")


def report(results: dict, bare: dict, log_problems: list[str], cpu_busy_before: float) -> dict:
    healthz, scoped, scoped10 = results["healthz"], results["scoped"], results["scoped_c10"]
    targets = {
        "healthz_pct_of_bare_json": target(ratio_pct(healthz, bare["json"]), ">=", TARGET_HEALTHZ_PCT),
        "members_pct_of_bare_drf": target(ratio_pct(scoped, bare["drf"]), ">=", TARGET_RATIO_PCT),
        f"members_p99_ms_at_{P99_CONNECTIONS}_conn": target(scoped10["p99_ms"], "<=", TARGET_SCOPED_P99_MS),
    }
    print()
    print_table(
        [
            (bare["json"], None),
            (bare["drf"], None),
            (bare[f"drf_c{P99_CONNECTIONS}"], None),
            (healthz, bare["json"]),
            (scoped, bare["drf"]),
            (scoped10, bare[f"drf_c{P99_CONNECTIONS}"]),
        ],
        f"Foundation benchmark: {WORKERS} {SERVER_KIND} workers each for SchedKit and bare, "
        f"wrk -c{CONNECTIONS} -d{DURATION} (unless noted), {os.cpu_count()} cores, "
        "ratios to the bare reference of this run",
    )
    print()
    print_targets(targets)
    if log_problems:
        print(f"\nserver log has {len(log_problems)} warning/error line(s), first ones:")
        for line in log_problems[:5]:
            print("   " + line[:300])
    return {
        "benchmark": "foundation",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {
            "server": SERVER_KIND,
            "workers": WORKERS,
            "duration": DURATION,
            "warmup": WARMUP,
            "connections": CONNECTIONS,
            "threads": THREADS,
            "cores": os.cpu_count(),
            "extra_members": EXTRA_MEMBERS,
        },
        "cpu_busy_pct_before": round(cpu_busy_before, 1),
        "bare": bare,
        "results": results,
        "targets": targets,
        "all_targets_met": all(t["met"] for t in targets.values()),
        "server_log_problems": len(log_problems),
    }


def warn_if_busy() -> float:
    busy = cpu_busy_pct()
    if busy > 20:  # wrk and the workers need the cores to themselves for stable figures
        print(
            f"!! CPU is {busy:.0f} % busy before the run: other work on this machine skews the absolute figures "
            "(the ratios to the bare reference of the same run less so)",
            flush=True,
        )
    return busy


def check_tools() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    for tool in ("wrk", "psql"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise BenchError(f"{tool} not found (bench/run installs wrk)")


def main() -> int:
    check_tools()
    key = prepare_data()
    busy = warn_if_busy()
    # Ctrl-C / SIGTERM become exceptions so the finally below always stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bare = bare_reference("foundation", connections=P99_CONNECTIONS)
    server = Server(WORKERS, RESULTS / "server.log")
    try:
        server.start()
        members = f"{server.base}/v1/orgs/{ORG}/members"
        verify_scoped(members, key)
        env = {**os.environ, "BENCH_API_KEY": key}
        results = {
            "healthz": {"endpoint": "GET /healthz", **measure("healthz", f"{server.base}/healthz", None, env)},
            "scoped": {
                "endpoint": f"GET /v1/orgs/{ORG}/members",
                **measure("scoped", members, BENCH / "auth.lua", env),
            },
            "scoped_c10": {
                "endpoint": f"GET /v1/orgs/{ORG}/members, {P99_CONNECTIONS} conn",
                **measure("scoped-c10", members, BENCH / "auth.lua", env, connections=P99_CONNECTIONS),
            },
        }
    finally:
        server.stop()

    summary = report(results, bare, server_log_problems(server.log_path), busy)
    out = RESULTS / "foundation.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


def run_main(main) -> None:
    """Every bench's entry point: its exit code, a clear line and 1 on a BenchError, 130 on
    Ctrl-C (the servers it started are stopped by their own context managers)."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run_main(main)
