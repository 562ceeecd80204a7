from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "apps.planning"
    label = "planning"
    verbose_name = "Planning (daily schedules)"

    def ready(self):
        # event handlers register with apps.events.delivery (planning imports the lower apps)
        from apps.planning import handlers  # noqa: F401
