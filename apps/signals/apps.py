from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "apps.signals"
    label = "signals"

    def ready(self):
        from apps.incidents.panels import register_war_room_panel
        from apps.signals import (
            delivery,  # noqa: F401 - registers the alert delivery handler
            ws,  # noqa: F401 - registers the websocket beacon messages
        )
        from apps.signals.views import war_room_map

        register_war_room_panel(war_room_map)  # the live map beside the war room's board
