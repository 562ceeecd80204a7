"""Delivery hand-off: apps register handlers for event types (webhooks, email, push …).
`dispatch_event` calls each matching handler inside one transaction; handlers enqueue their
own retried Celery tasks with `delay_on_commit`, so a failing receiver never blocks others."""

from collections.abc import Callable

Handler = Callable[["Event"], None]  # noqa: F821
_handlers: list[tuple[str, Handler]] = []


def register(type_prefix: str):
    """@register("booking.") — called for every event whose type starts with the prefix."""

    def decorator(func: Handler) -> Handler:
        _handlers.append((type_prefix, func))
        return func

    return decorator


def handlers_for(event_type: str) -> list[Handler]:
    return [handler for prefix, handler in _handlers if event_type.startswith(prefix)]
