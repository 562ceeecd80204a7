"""The one enqueue-after-commit helper, with one failure policy for every task SchedKit hands
to Celery: a broker outage never fails the caller and never loses work.

Each task handed over here is backed by a row that records the work (an event of the
outbox, a webhook delivery) and carries a lease saying when it counts as lost. When the
broker refuses the task the row stays undispatched — or, for work that an event's delivery
handler enqueues, becomes undispatched again — and the sweeps (`events.outbox_relay`,
`events.webhook_sweep`) enqueue it once the lease has run out.

Work that no row records — an email that carries a one-time secret (a sign-in code, an invite
link) or a notice computed at the moment (an SLA breach) — is handed over with
`inline_on_failure=True`: when the broker refuses it, it runs in the caller's process instead
(slower for that one request, never lost). Nothing else may be handed over rowless."""

import logging
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.events import metrics
from apps.events.models import Event

logger = logging.getLogger(__name__)


def queued_lease() -> timedelta:
    """How long queued work is left alone by the sweeps before it counts as lost."""
    return timedelta(seconds=getattr(settings, "EVENTS_QUEUED_LEASE_SECONDS", 120))


def enqueue_now(
    task, *args, requeue_event=None, countdown: float | None = None, inline_on_failure: bool = False
) -> bool:
    """Hand a task to the broker now, under the one failure policy: it
    never raises; on failure the work's row is left for the sweeps, and `requeue_event`
    (the event whose handler enqueued the task) is put back to undispatched — or, for rowless
    work (`inline_on_failure`), the task runs here and now."""
    try:
        task.apply_async(args, countdown=countdown) if countdown else task.delay(*args)
        return True
    except Exception as exc:  # noqa: BLE001 - broker down: the row stays for the sweeps
        if task.app.conf.task_always_eager:  # inline run (tests, eager mode): the task itself failed
            logger.exception("%s%r failed inline", task.name, args)
            return False
        metrics.ENQUEUE_FAILURES.labels(task.name).inc()
        if inline_on_failure:
            logger.warning("could not enqueue %s (%s); running it inline", task.name, exc)
            result = task.apply(args)  # runs the task body here; its own errors are logged, not raised
            if result.failed():
                logger.error("%s failed inline after the broker refused it: %s", task.name, result.result)
            return False
        logger.warning("could not enqueue %s%r (%s); its row waits for the sweep", task.name, args, exc)
        if requeue_event is not None:
            Event.objects.filter(pk=requeue_event).update(
                dispatched_at=None, lease_until=timezone.now() + queued_lease(), lease_token=None
            )
        return False


def enqueue_on_commit(
    task, *args, requeue_event=None, countdown: float | None = None, inline_on_failure: bool = False
) -> None:
    """After the caller's transaction commits (at once outside one), `enqueue_now`. `task` is
    a task or a registered task name (so a service need not import the tasks that call it)."""
    if isinstance(task, str):
        task = current_app.tasks[task]
    transaction.on_commit(
        partial(
            enqueue_now,
            task,
            *args,
            requeue_event=requeue_event,
            countdown=countdown,
            inline_on_failure=inline_on_failure,
        ),
        robust=True,
    )
