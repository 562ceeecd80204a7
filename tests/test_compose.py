"""docker-compose.yml boots: every service's command, run here with that service's environment.

Docker is not available on CI machines, so this does what `docker compose up` would: read the
file (with compose's `${VAR:-default}` interpolation and YAML merge keys), translate the
container addresses to the test PostgreSQL/Redis and a temporary folder, then run migrate to
completion, start web, worker and beat as real processes and run each one's own healthcheck
command until it passes (web answers /readyz, the worker answers `celery inspect ping`, beat
sends a heartbeat and stays up). A broken command or environment fails here.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from django.conf import settings

from tests.servers import ROOT, free_port

pytestmark = pytest.mark.services

COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "demo", "web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", "web", "worker", "beat")
DEV_KEY = settings.DEV_SECRET_KEY
HOST_ENV = {"SECRET_KEY": "compose-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"}
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingVariable(Exception):
    pass


def interpolate(value, env: dict):
    """Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3)
        current = env.get(name)
        if op in (":?", "?") and (current is None or (op == ":?" and current == "")):
            raise MissingVariable(f"{name}: {arg}")
        if op == ":-" and not current:
            return arg
        if op == "-" and current is None:
            return arg
        return current or ""

    return _VAR.sub(replace, value)


def load_compose(env: dict) -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), env)


def test_compose_shape():
    raw = yaml.safe_load(COMPOSE.read_text())
    with pytest.raises(MissingVariable, match="SECRET_KEY"):
        load_compose({})  # no SECRET_KEY: compose itself refuses to start the stack
    services = load_compose(HOST_ENV)["services"]

    built = [name for name, service in services.items() if "build" in service]
    assert built == ["migrate"], "one service builds the image"
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, f"web, worker, beat, migrate and demo share one image: {images}"
    for name in LONG_RUNNING:
        assert services[name].get("restart") in ("unless-stopped", "always"), name
    for name in ("web", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "--appendonly" in services["redis"]["command"] and "/data" in services["redis"]["volumes"][0]

    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert {"CSRF_TRUSTED_ORIGINS", "BEHIND_TLS_PROXY", "SECRET_KEY"} <= set(env), name
        assert env["SECRET_KEY"] == HOST_ENV["SECRET_KEY"]
        # The metrics folder only where several processes share it (and a tmpfs creates it).
        assert ("PROMETHEUS_MULTIPROC_DIR" in env) == (name == "web"), name
    assert services["web"]["tmpfs"] == [services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]]

    # Demo data (a staff owner, a printed API key) only through the explicit `demo` profile.
    seeding = [name for name, s in services.items() if "seed_demo" in " ".join(_argv(s.get("command", [])))]
    assert seeding == ["demo"] and services["demo"]["profiles"] == ["demo"]
    assert "profiles" not in raw["services"]["migrate"]


def _argv(command) -> list[str]:
    return command if isinstance(command, list) else shlex.split(command)


# --- running the services ---------------------------------------------------------------------


class Localizer:
    """Container addresses → this machine: the test PostgreSQL (a fresh database of its own),
    the test Redis, a free port for web and a temporary folder for /tmp and var/."""

    def __init__(self, tmp: Path, database_url: str, redis_url: str, port: int):
        self.tmp, self.database_url, self.redis_url, self.port = tmp, database_url, redis_url, port

    def text(self, value: str) -> str:
        value = value.replace("postgres://schedkit:schedkit@postgres:5432/schedkit", self.database_url)
        value = value.replace("redis://redis:6379/0", self.redis_url)
        value = value.replace("0.0.0.0", "127.0.0.1").replace("8000", str(self.port))
        return re.sub(r"(?<![\w/])/tmp/", f"{self.tmp}/", value)

    def env(self, service: dict) -> dict:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TZ")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update({k: self.text(str(v)) for k, v in service["environment"].items()})
        env.update(
            SCHEDKIT_VAR_DIR=str(self.tmp / "var"),  # the image's /app/var
            REDIS_KEY_PREFIX=f"{settings.KEY_PREFIX}-compose",
            HOSTNAME=socket.gethostname(),  # what a container sets; the worker ping names it
            PYTHONUNBUFFERED="1",
        )
        return env

    def argv(self, command) -> list[str]:
        return [self.text(part) for part in _argv(command)]

    def healthcheck(self, service: dict) -> list[str]:
        kind, *rest = service["healthcheck"]["test"]
        if kind == "CMD-SHELL":
            return ["sh", "-c", self.text(rest[0])]
        assert kind == "CMD", kind
        return [self.text(part) for part in rest]


def _database(url: str):
    """Create (or recreate) the compose check's own database; returns a drop() callback."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return drop


class Process:
    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.log = name, log
        self._file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log.read_text()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._file.close()


def _wait_healthy(process: Process, check: list[str], env: dict, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            pytest.fail(f"{process.name} exited with {process.proc.returncode}:\n{process.output()}")
        result = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return result.stdout
        last = result.stdout + result.stderr
        time.sleep(0.5)
    pytest.fail(f"{process.name} never became healthy; last healthcheck:\n{last[-2000:]}\n{process.output()}")


@pytest.fixture
def localizer(tmp_path):
    base = urlsplit(os.environ.get("DATABASE_URL") or "")
    assert base.scheme.startswith("postgres"), "the compose check runs against PostgreSQL"
    database_url = base._replace(path=f"/test_{base.path.strip('/')}_compose").geturl()  # e.g. test_schedkit_compose
    drop = _database(database_url)
    try:
        yield Localizer(tmp_path, database_url, settings.REDIS_URL, free_port())
    finally:
        drop()


def test_every_compose_service_command_runs(localizer, tmp_path):
    services = load_compose({**HOST_ENV, "WEB_CONCURRENCY": "2", "CELERY_CONCURRENCY": "1"})["services"]

    migrate = services["migrate"]
    result = subprocess.run(
        localizer.argv(migrate["command"]),
        cwd=ROOT,
        env=localizer.env(migrate),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    with ExitStack() as stack:
        running = {}
        for name in ("web", "worker", "beat"):
            process = Process(
                name, localizer.argv(services[name]["command"]), localizer.env(services[name]), tmp_path / f"{name}.log"
            )
            stack.callback(process.stop)
            running[name] = process
        for name, process in running.items():
            out = _wait_healthy(process, localizer.healthcheck(services[name]), localizer.env(services[name]), 60)
            if name == "worker":
                assert "pong" in out
        # The metrics folder did not exist: web created it, and its workers write there.
        assert any((tmp_path / "prometheus").iterdir())
        time.sleep(3)
        for name, process in running.items():
            assert process.proc.poll() is None, f"{name} stopped:\n{process.output()}"

    # The opt-in demo profile seeds the migrated database.
    demo = services["demo"]
    seeded = subprocess.run(
        localizer.argv(demo["command"]), cwd=ROOT, env=localizer.env(demo), capture_output=True, text=True, timeout=180
    )
    assert seeded.returncode == 0, f"demo failed:\n{seeded.stdout[-3000:]}\n{seeded.stderr[-3000:]}"
    assert "sk_live_" in seeded.stdout


def _check(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_production_topology_refuses_the_development_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "SECRET_KEY"}
    env.update(SCHEDKIT_VAR_DIR=str(tmp_path))
    embedded = {k: v for k, v in env.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    refused = [_check(env), _check({**env, "SECRET_KEY": "change-me"}), _check({**env, "SECRET_KEY": DEV_KEY})]
    # DEBUG on (a developer's machine) or the embedded default: a generated local key instead.
    allowed = [_check({**env, "DEBUG": "true"}), _check(embedded)]
    for proc in refused:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "refuses to start: SECRET_KEY" in err and "Traceback" not in err
    for proc in allowed:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert len((tmp_path / "secret_key").read_text()) >= 50


def test_a_missing_metrics_folder_is_created_or_explained(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    folder = tmp_path / "not" / "yet" / "there"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert folder.is_dir()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(blocker / "metrics")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr and "Traceback" not in result.stderr
