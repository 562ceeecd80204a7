"""Delivery metrics, exported at /metrics: counters per process, and the outbox's state
(pending, retrying, dead) and webhook backlog counted from the database at scrape time."""

from django.db.models import Count, Q
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from schedkit.ops.metrics import register_live_collector

ENQUEUE_FAILURES = Counter("enqueue_failures_total", "Tasks the broker refused (left to the sweeps)", ["task"])
DISPATCH_FAILURES = Counter("event_dispatch_failures_total", "Event dispatches whose handlers raised", ["type"])
WEBHOOK_ATTEMPTS = Counter("webhook_delivery_attempts_total", "Webhook delivery attempts", ["outcome"])


class OutboxCollector:
    """`outbox_events{state=pending|retrying|dead}` and `webhook_deliveries{status=pending|failed}`."""

    def collect(self):
        from apps.events.models import Event, WebhookDelivery  # scrape time: the app registry is ready

        undispatched = Event.objects.filter(dispatched_at__isnull=True)
        counts = undispatched.aggregate(
            pending=Count("id", filter=Q(dead_at__isnull=True, attempts=0)),
            retrying=Count("id", filter=Q(dead_at__isnull=True, attempts__gt=0)),
            dead=Count("id", filter=Q(dead_at__isnull=False)),
        )
        events = GaugeMetricFamily("outbox_events", "Undispatched outbox events by state", labels=["state"])
        for state, value in counts.items():
            events.add_metric([state], value)
        yield events
        deliveries = GaugeMetricFamily("webhook_deliveries", "Webhook deliveries not delivered", labels=["status"])
        by_status = dict(
            WebhookDelivery.objects.filter(status__in=["pending", "failed"])
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in ("pending", "failed"):
            deliveries.add_metric([status], by_status.get(status, 0))
        yield deliveries


register_live_collector(OutboxCollector())
