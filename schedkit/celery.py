import os

from celery import Celery, signals

from schedkit.ops.context import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schedkit.settings")

app = Celery("schedkit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    """X-Request-Id travels with every task enqueued while handling a request."""
    request_id = request_id_var.get()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


@signals.task_prerun.connect
def _restore_request_id(task=None, **kwargs):
    request_id_var.set(getattr(task.request, "request_id", None) or f"task-{task.request.id}")


@signals.task_postrun.connect
def _clear_request_id(**kwargs):
    request_id_var.set(None)
