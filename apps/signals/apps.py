from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "apps.signals"
    label = "signals"

    def ready(self):
        from apps.signals import (
            delivery,  # noqa: F401 - registers the alert delivery handler
            ws,  # noqa: F401 - registers the websocket beacon messages
        )
