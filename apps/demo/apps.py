from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo org a newcomer sees (`seed_demo`): it builds through every app's services, so
    it sits above all of them and nothing imports it."""

    name = "apps.demo"
    label = "demo"
