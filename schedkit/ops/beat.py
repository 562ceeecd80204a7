"""Celery beat's health: the scheduler touches a heartbeat file each time it hands a periodic
task to the broker (the shortest schedule is 30 s), and `python -m schedkit.ops.beat` — the
compose healthcheck — fails when that file is missing or older than --max-age seconds."""

import argparse
import os
import sys
import time
from pathlib import Path

from celery.beat import PersistentScheduler

ROOT = Path(__file__).resolve().parent.parent.parent


def heartbeat_path() -> Path:
    """Beside the beat schedule, in SCHEDKIT_VAR_DIR (read here without Django settings)."""
    explicit = os.environ.get("CELERY_BEAT_HEARTBEAT_FILE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SCHEDKIT_VAR_DIR") or ROOT / "var") / "celerybeat.heartbeat"


def _touch() -> None:
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


class HeartbeatScheduler(PersistentScheduler):
    def setup_schedule(self):
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)  # var/ may be new
        super().setup_schedule()
        _touch()

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        _touch()  # only reached when the broker took the message
        return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Is celery beat alive and sending? (exit 0 = healthy)")
    parser.add_argument("--max-age", type=float, default=120.0, help="seconds since the last sent task")
    args = parser.parse_args(argv)
    path = heartbeat_path()
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        print(f"unhealthy: no beat heartbeat at {path}", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"unhealthy: beat last sent a task {age:.0f}s ago ({path})", file=sys.stderr)
        return 1
    print(f"healthy: beat sent a task {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
