"""Loaded before Django reads its settings (pyproject's addopts `-p tests.parallel`): under
pytest-xdist (bin/test runs the suite on TEST_WORKERS processes) each worker gets its own Redis
database and key prefix, as pytest-django gives each its own test database
(`test_schedkit_gw0`, …).

The workers must not share Redis: every test starts from `cache.clear()` (a FLUSHDB of the
cache's database), and the Celery broker and the channel layer live in that database too.
Worker gwN uses database N + the one REDIS_URL names (1, 2, … for the default
`redis://127.0.0.1:6379/1`); servers a test starts inherit the worker's environment."""

import os

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … (unset without xdist)


def _shifted(url: str, by: int) -> str:
    base, _, rest = url.rpartition("/")
    db, sep, query = rest.partition("?")
    if not base.startswith(("redis://", "rediss://")) or not db.isdigit():
        raise RuntimeError(f"tests/parallel.py: cannot give worker {_WORKER} its own database of {url!r}")
    return f"{base}/{int(db) + by}{sep}{query}"


if _WORKER.startswith("gw") and os.environ.get("REDIS_URL"):
    _index = int(_WORKER[2:])
    for _name in ("REDIS_URL", "CHANNEL_REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(_name):
            os.environ[_name] = _shifted(os.environ[_name], _index)
    os.environ["REDIS_KEY_PREFIX"] = f"{os.environ.get('REDIS_KEY_PREFIX', 'schedkit')}-{_WORKER}"
