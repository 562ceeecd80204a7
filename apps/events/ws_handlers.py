"""Messages a client may send on the org websocket, by `type`: apps register a handler for
theirs (apps/signals registers "beacon" and "beacon.stop" in its AppConfig.ready), so this app
imports none of them — the seam `apps/events/delivery.py` is for event delivery.

A handler is a plain function `(actor, message) -> reply` run in a worker thread (it may use
the ORM), or a coroutine function awaited on the consumer's event loop (it reaches the ORM
through database_sync_to_async). The reply is a dict sent back on the socket. Raising `Problem` or Django's
`ValidationError` answers `{"type": "error", "ref", "code", "detail"}` instead."""

from collections.abc import Awaitable, Callable

WsHandler = Callable[["Actor", dict], "dict | Awaitable[dict]"]  # noqa: F821
_handlers: dict[str, WsHandler] = {}


def register_ws_handler(message_type: str):
    """@register_ws_handler("beacon") — called for every `{"type": "beacon", …}` a client sends."""

    def decorator(func: WsHandler) -> WsHandler:
        if _handlers.get(message_type, func) is not func:
            raise ValueError(f"a websocket handler for {message_type!r} is already registered")
        _handlers[message_type] = func
        return func

    return decorator


def ws_handler(message_type) -> WsHandler | None:
    return _handlers.get(message_type) if isinstance(message_type, str) else None


def ws_message_types() -> list[str]:
    return sorted(_handlers)
