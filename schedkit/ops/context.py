from contextvars import ContextVar

# The request id of whatever is running now: an HTTP request, a websocket, a Celery task.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
