"""Delivery hand-off, the seam through which higher apps act on events without `events`
importing them. Apps register in `AppConfig.ready()`:

- `@register("booking.")`: a handler called for every event whose type starts with the
  prefix, inside the dispatch transaction (`apps.events.outbox.event_dispatch`). Handlers
  write rows and enqueue their own retried tasks with `apps.events.enqueue`; they never make
  network calls, so a failing receiver never blocks the others. A handler that raises rolls
  back every handler's writes for that event, which is retried with backoff, then dead.
- `@register_webhook_targets("booking.")`: a function returning extra webhook endpoints for
  an event (an event type's own `webhook_url`), beside the org's subscribed endpoints."""

from collections.abc import Callable

Handler = Callable[["Event"], None]  # noqa: F821
Targets = Callable[["Event"], list]  # noqa: F821
_handlers: list[tuple[str, Handler]] = []
_targets: list[tuple[str, Targets]] = []


def register(type_prefix: str):
    """@register("booking.") — called for every event whose type starts with the prefix."""

    def decorator(func: Handler) -> Handler:
        _handlers.append((type_prefix, func))
        return func

    return decorator


def handlers_for(event_type: str) -> list[Handler]:
    return [handler for prefix, handler in _handlers if event_type.startswith(prefix)]


def register_webhook_targets(type_prefix: str):
    def decorator(func: Targets) -> Targets:
        _targets.append((type_prefix, func))
        return func

    return decorator


def webhook_targets_for(event) -> list:
    return [endpoint for prefix, func in _targets if event.type.startswith(prefix) for endpoint in func(event)]
