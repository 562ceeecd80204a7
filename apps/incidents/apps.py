from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "apps.incidents"
    label = "incidents"

    def ready(self):
        from anymail.signals import inbound

        from apps.incidents.intake import handle_inbound_email

        inbound.connect(handle_inbound_email, dispatch_uid="incidents.inbound_email")
