from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    """Schedule entries (the PSA calendar): planned work with assignees and RFC 5545
    recurrence. Kept apart from apps.scheduling (locations, people, availability, slots),
    which is supply; this is the plan drawn on it."""

    name = "apps.schedule"
    label = "schedule"
