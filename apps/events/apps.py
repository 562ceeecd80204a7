from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The org's event log: the transactional outbox every domain change writes to, and the
    real-time fan-out (channel-layer groups, websocket) that carries it to screens and agents."""

    name = "apps.events"
    label = "events"
    verbose_name = "Events"
