"""The embedded default's background machinery: a Celery worker and Celery beat running as
threads inside the web process, consuming kombu's in-process memory broker. Tasks go through
the real Celery path (serialize → broker → worker → task), so what works here works with the
Redis broker and separate worker/beat processes in production."""

import logging
import threading

from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)
_started = False
_lock = threading.Lock()


def start_embedded_worker() -> bool:
    global _started
    with _lock:
        if _started or not settings.EMBEDDED_WORKER:
            return False
        _started = True
    from celery.beat import EmbeddedService
    from celery.worker import WorkController

    app = current_app  # the project's Celery app (schedkit.celery sets itself current)
    worker = WorkController(
        app=app,
        pool_cls="solo",
        concurrency=1,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        hostname="embedded@schedkit",
    )
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    beat = EmbeddedService(app, thread=True, schedule_filename=settings.CELERY_BEAT_SCHEDULE_FILENAME)
    beat.start()
    logger.info("embedded celery worker and beat started (broker %s)", settings.CELERY_BROKER_URL)
    return True
