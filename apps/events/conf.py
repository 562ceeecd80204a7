"""Settings of the live streams, read at call time so tests (and `override_settings`) can
change them: the Django setting of that name, else the environment variable, else the
default. The SSE stream moved here from apps/signals; its old SIGNALS_SSE_* names still work."""

import os

from django.conf import settings

DEFAULTS = {
    "EVENTS_SSE_PING_SECONDS": 25.0,  # `: ping` keepalive comment on an idle SSE stream
    "EVENTS_SSE_RETRY_MS": 3000,  # `retry:` sent first: how soon an EventSource reconnects
    "EVENTS_STREAM_REPLAY_LIMIT": 1000,  # persisted events replayed at most (Last-Event-ID, gaps)
    "EVENTS_STREAM_BACKOFF_MAX_SECONDS": 2.0,  # longest wait between channel-layer reconnect probes
    "EVENTS_WS_QUEUE_SIZE": 1000,  # events waiting for one slow websocket or SSE client before the oldest go
}
ALIASES = {
    "EVENTS_SSE_PING_SECONDS": "SIGNALS_SSE_PING_SECONDS",
    "EVENTS_STREAM_REPLAY_LIMIT": "SIGNALS_SSE_REPLAY_LIMIT",
}


def get(name: str):
    default = DEFAULTS[name]
    for candidate in (name, ALIASES.get(name)):
        if candidate is None:
            continue
        value = getattr(settings, candidate, None)
        if value is None:
            value = os.environ.get(candidate) or None
        if value is not None:
            return type(default)(float(value))
    return default
