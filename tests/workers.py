"""A real Celery worker process (prefork pool, with its embedded beat) for tests, sharing the
test database and Redis; delivery timings shortened through the environment."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

from tests.servers import ROOT, server_env

FAST_DELIVERY = {
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "EVENTS_QUEUED_LEASE_SECONDS": "4",
    "EVENTS_RELAY_SECONDS": "1",
    "EVENTS_DISPATCH_BACKOFF": "1,1,1",
    "WEBHOOK_SWEEP_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_LEASE_MARGIN_SECONDS": "3",
    "WEBHOOK_BACKOFF": "1,2,3,3,3,3,3,3,3,3",
}


class WorkerProcess:
    def __init__(self, env: dict, concurrency: int = 2):
        self.var = tempfile.mkdtemp(prefix="celerybeat-")
        self.schedule = os.path.join(self.var, "schedule")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "schedkit", "worker", "-B", "-s", self.schedule]
            + ["--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: killed as a whole
        )
        self.output: list[str] = []
        threading.Thread(target=lambda: self.output.extend(iter(self.proc.stdout.readline, "")), daemon=True).start()

    def wait_ready(self, timeout: float = 60.0) -> "WorkerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(" ready." in line for line in self.output):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("worker did not start:\n" + "".join(self.output[-40:]))

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as an OOM kill would."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.var, ignore_errors=True)


@contextmanager
def celery_worker_process(**overrides):
    from schedkit.celery import app

    app.conf.task_always_eager = False  # the test process publishes to the broker too
    workers = []

    def start():
        worker = WorkerProcess(server_env(**{**FAST_DELIVERY, **overrides})).wait_ready()
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
        app.conf.task_always_eager = True
