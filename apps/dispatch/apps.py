from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "apps.dispatch"
    label = "dispatch"

    def ready(self):
        # Delivery handlers (auto-dispatch on incident.created, offer notices) and the
        # responder's websocket messages (assignment.ack / decline / status).
        from apps.dispatch import delivery, ws  # noqa: F401
