"""Process helpers shared by the benches that run more than the web server (bench/foundation.py
has the database, seed and uvicorn ones): a Celery worker or beat and a private redis-server,
each in its own process group and recorded in BENCH_PIDFILE (bench/run kills what is left),
and the resident memory of a process tree."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import foundation as fd


def record_pgid(pid: int) -> None:
    pidfile = os.environ.get("BENCH_PIDFILE")
    if pidfile:  # bench/run kills these groups if we die without cleaning up
        with open(pidfile, "a") as f:
            f.write(f"{pid}\n")


def forget_pgid(pid: int) -> None:
    pidfile = os.environ.get("BENCH_PIDFILE")
    if pidfile and Path(pidfile).exists():  # stopped: bench/run must not signal a reused pid
        kept = [line for line in Path(pidfile).read_text().split() if line != str(pid)]
        Path(pidfile).write_text("".join(f"{p}\n" for p in kept))


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 15) -> None:
    """Signal the process group of `proc`, wait for it, SIGKILL what is left after `grace`."""
    for s, wait in ((sig, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, s)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and group_alive(proc.pid):
            proc.poll()
            time.sleep(0.1)
        if not group_alive(proc.pid):
            break
    proc.poll()
    forget_pgid(proc.pid)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Celery:
    """`celery -A schedkit worker|beat` as bin/run starts them in the production topology:
    the worker prefork with CELERY_CONCURRENCY (2) children, beat on its own.
    `solo=True` gives the one-process worker some benches use."""

    def __init__(self, kind: str, log_path: Path, env: dict | None = None, solo: bool = False, var: str = "/tmp"):
        self.kind, self.log_path, self.env, self.solo, self.var = kind, log_path, env, solo, var
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "celery", "-A", "schedkit", self.kind, "--loglevel", "INFO"]
        if self.kind == "beat":
            return [*cmd, "--schedule", f"{self.var}/celerybeat-schedule-{os.getpid()}"]
        if self.solo:
            return [*cmd, "-P", "solo", "--without-mingle", "--without-gossip"]
        return [*cmd, "--concurrency", os.environ.get("CELERY_CONCURRENCY", "2")]

    def start(self, timeout: float = 60) -> "Celery":
        fd.step(f"celery {self.kind}{' (solo)' if self.solo else ''} (log: {self.log_path.relative_to(fd.ROOT)})")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=fd.ROOT,
                env=self.env or fd.APP_ENV,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record_pgid(self.proc.pid)
        ready = " ready." if self.kind == "worker" else "beat: Starting..."
        deadline = time.monotonic() + timeout
        while ready not in self.log_path.read_text(errors="replace")[offset:]:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise fd.BenchError(f"celery {self.kind} did not start:\n" + self.log_path.read_text()[-2000:])
            time.sleep(0.2)
        return self

    def kill(self) -> None:
        """SIGKILL the whole group (main process and pool children): no warm shutdown."""
        stop_group(self.proc, signal.SIGKILL, grace=5)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)

    __enter__ = start

    def __exit__(self, *exc):
        self.stop()


class RedisServer:
    """A private redis-server (no persistence: a restart loses everything, as a crashed cache
    would), so a bench can stop and restart it without touching anyone else's Redis."""

    def __init__(self, port: int, log_path: Path):
        self.port, self.log_path = port, log_path
        self.url = f"redis://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> "RedisServer":
        if _port_open(self.port):
            raise fd.BenchError(f"port {self.port} is taken: set SOAK_REDIS_PORT to a free one")
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        cmd += ["--dir", "/tmp", "--daemonize", "no"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        record_pgid(self.proc.pid)
        deadline = time.monotonic() + timeout
        while not self.ping():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise fd.BenchError(f"redis-server on {self.port} did not start:\n{self.log_path.read_text()[-1000:]}")
            time.sleep(0.05)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc, grace=5)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4: ppid (after the comm)
            found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_tree(name: str, pid: int) -> dict[str, int | None]:
    """{name: RSS kB, name/child-N: RSS kB, …} for a supervisor and its direct children."""
    out = {name: rss_kb(pid)}
    for n, child in enumerate(children(pid)):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            cmdline = b""
        label = "resource tracker" if b"resource_tracker" in cmdline else f"child-{n}"
        out[f"{name}/{label}"] = rss_kb(child)
    return out
