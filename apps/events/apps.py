from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The org's event log: the transactional outbox every domain change writes to, and the
    real-time fan-out (channel-layer groups, websocket) that carries it to screens and agents,
    and its durable fan-out: the dispatch to delivery handlers and signed webhooks."""

    name = "apps.events"
    label = "events"
    verbose_name = "Events"

    def ready(self):
        from apps.events import metrics, services  # noqa: F401 - registers the webhook fan-out and /metrics collector
