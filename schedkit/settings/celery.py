"""Celery: Redis broker in production; in the embedded default an in-process broker
(kombu's memory transport) consumed by a worker thread and driven by a beat thread started
with the ASGI app (schedkit/embedded.py), so background jobs really run with no services."""

from datetime import timedelta

from .base import VAR_DIR
from .delivery import EVENTS_RELAY_SECONDS, WEBHOOK_SWEEP_SECONDS
from .env import env_bool, env_str
from .runtime import EMBEDDED, REDIS_URL

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"polling_interval": 0.1}
    if CELERY_BROKER_URL.startswith("memory")
    else {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
    }
)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Touches var/celerybeat.heartbeat whenever a periodic task reaches the broker: the beat
# healthcheck (`python -m schedkit.ops.beat`) reads it.
CELERY_BEAT_SCHEDULER = "schedkit.ops.beat:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
CELERY_TIMEZONE = "UTC"
# Run the worker and beat inside the web process (embedded default only).
EMBEDDED_WORKER = env_bool("EMBEDDED_WORKER", CELERY_BROKER_URL.startswith("memory"))

CELERY_BEAT_SCHEDULE = {
    "events-outbox-relay": {"task": "events.outbox_relay", "schedule": timedelta(seconds=EVENTS_RELAY_SECONDS)},
    "events-webhook-sweep": {"task": "events.webhook_sweep", "schedule": timedelta(seconds=WEBHOOK_SWEEP_SECONDS)},
    "api-idempotency-prune": {"task": "api.idempotency_prune", "schedule": timedelta(hours=1)},
    "accounts-login-code-prune": {"task": "accounts.login_code_prune", "schedule": timedelta(hours=1)},
    "signals-beacon-sweep": {"task": "signals.sweep_stale_beacons", "schedule": timedelta(seconds=30)},
    "bookings-holds-expire": {"task": "bookings.holds_expire", "schedule": timedelta(minutes=1)},
    "scheduling-slots-generate": {"task": "scheduling.slots_generate", "schedule": timedelta(hours=1)},
    "calendars-busy-refresh": {"task": "calendars.busy_refresh_due", "schedule": timedelta(minutes=1)},
    "calendars-write-retry": {"task": "calendars.write_retry", "schedule": timedelta(minutes=5)},
    "calendars-entry-writes": {"task": "calendars.entry_writes_due", "schedule": timedelta(minutes=10)},
    "incidents-sla-scan": {"task": "incidents.sla_scan", "schedule": timedelta(minutes=1)},
    # The safety net behind each timer's own ETA task (a lost task, a killed worker).
    "dispatch-escalation-sweep": {"task": "dispatch.escalation_sweep", "schedule": timedelta(seconds=10)},
}

# The demo's field responders keep pinging their beacons (in the web process, whose cache holds
# live positions in the embedded default); a no-op without the demo org.
if env_bool("DEMO_BEACONS", EMBEDDED):
    CELERY_BEAT_SCHEDULE["demo-beacons"] = {"task": "demo.beacons", "schedule": timedelta(seconds=20)}
