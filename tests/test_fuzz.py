"""Schemathesis over every operation of the OpenAPI, with all checks, against a real uvicorn
server in the production topology (PostgreSQL + Redis), seeded and bounded (issue 17).

The run's reports (JUnit, NDJSON) are kept under var/fuzz/ (gitignored) as CI artifacts.
Knobs: FUZZ_MAX_EXAMPLES (default 5), FUZZ_SEED, FUZZ_MAX_TIME (unset: bounded by examples,
the same cases on every machine), FUZZ_EXTRA_ARGS."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apps.orgs.models import Role
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.servers import ROOT, asgi_server, server_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]
REPORT_DIR = ROOT / "var" / "fuzz"
UNLIMITED = {
    f"THROTTLE_{name}": "1000000/min"
    for name in ("ANON", "USER", "LOGIN_EMAIL", "LOGIN_IP", "VERIFY_IP", "BOOKING", "INTAKE")
}
#: Checks excluded for the whole run, each with the reason (per-operation exceptions, each with
#: its reason, are in tests/schemathesis.toml).
EXCLUDED_CHECKS: dict[str, str] = {}


def _schemathesis() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is not installed (requirements.txt)")
    return found


def test_schemathesis_finds_no_failure(org):
    owner = MembershipFactory(org=org, role=Role.OWNER)
    raw_key = key_client(owner).raw_key
    if REPORT_DIR.exists():
        shutil.rmtree(REPORT_DIR)
    REPORT_DIR.mkdir(parents=True)
    with asgi_server(server_env(**UNLIMITED)) as server:
        command = [
            _schemathesis(),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{server.base_url}/openapi.json",
            "--max-examples",
            os.environ.get("FUZZ_MAX_EXAMPLES", "5"),
            "--seed",
            os.environ.get("FUZZ_SEED", "17"),
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--header",
            f"Authorization: Bearer {raw_key}",
            "--report",
            "junit,ndjson",
            "--report-dir",
            str(REPORT_DIR),
            "--suppress-health-check",
            "all",
            "--no-color",
        ]
        if EXCLUDED_CHECKS:
            command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
        if os.environ.get("FUZZ_MAX_TIME"):
            # A time budget makes the run repeat fuzzing until it is spent: how much is tested then
            # depends on the machine's speed, so the default run is bounded by examples instead.
            command += ["--max-time", os.environ["FUZZ_MAX_TIME"]]
        command += os.environ.get("FUZZ_EXTRA_ARGS", "").split()
        result = subprocess.run(command, capture_output=True, text=True, timeout=850, cwd=ROOT)
        (REPORT_DIR / "server.log").write_text("".join(server.output))
    (REPORT_DIR / "output.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
