import pytest
from celery.contrib.testing.worker import start_worker

from schedkit.celery import app as celery_app


@pytest.fixture
def celery_worker_thread():
    """A real Celery worker (solo pool, in a thread) consuming the Redis broker (the same
    fixture as tests/test_events.py)."""
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = True
