"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set (several server processes), values are
aggregated across processes by prometheus_client's multiprocess mode."""

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from schedkit.ops.multiproc import ensure_multiprocess_dir

ensure_multiprocess_dir()

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WS_CONNECTIONS = Gauge("websocket_connections", "Open websocket connections", multiprocess_mode="livesum")
EVENTS_PUBLISHED = Counter("events_published_total", "Domain events committed to the outbox", ["type"])
EVENT_BROADCAST_FAILURES = Counter("event_broadcast_failures_total", "Broadcasts the channel layer refused")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)


_live_collectors: list = []


def register_live_collector(collector) -> None:
    """Apps register collectors that read current state (e.g. the outbox from the database)
    at scrape time; they are exported in both the single- and multi-process modes."""
    _live_collectors.append(collector)


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultRegistry())
    for collector in _live_collectors:
        registry.register(collector)
    return generate_latest(registry)


class _DefaultRegistry:
    def collect(self):
        return REGISTRY.collect()
