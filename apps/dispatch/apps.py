from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "apps.dispatch"
    label = "dispatch"

    def ready(self):
        # Registers the auto-dispatch delivery handler on incident.created.
        from apps.dispatch import delivery  # noqa: F401
