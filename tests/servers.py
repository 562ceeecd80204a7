"""Real ASGI server processes for tests: uvicorn subprocesses on free ports, sharing the test
database and Redis with the test process (the production topology, several processes)."""

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**overrides) -> dict:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        SECRET_KEY=settings.SECRET_KEY,
        EMBEDDED_WORKER="false",
        LOG_LEVEL="WARNING",
        DB_POOL_MAX="4",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def wait_healthy(base_url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            time.sleep(0.2)
            raise RuntimeError(f"server exited with {proc.returncode}: {''.join(getattr(proc, 'output', []))}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {base_url} did not become healthy")


@contextmanager
def asgi_server(env: dict | None = None, cwd: Path = ROOT):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "schedkit.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--ws-per-message-deflate",
            "false",  # as bin/run serves
        ],
        cwd=cwd,
        env=env if env is not None else server_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    proc.output = []  # drained continuously, so a chatty server never blocks on a full pipe
    threading.Thread(target=lambda: proc.output.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        wait_healthy(base_url, proc)
        proc.base_url = base_url
        proc.ws_url = f"ws://127.0.0.1:{port}"
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        _wait_for_server_connections_to_close()


def _wait_for_server_connections_to_close(timeout: float = 5.0) -> None:
    """A killed server's PostgreSQL sessions end a moment after it does; wait, so the test
    database can be flushed or dropped."""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)
