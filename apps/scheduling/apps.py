from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """People's time: locations, people, availability, slots, schedule entries with recurrence,
    and the one free/busy query every other app asks."""

    name = "apps.scheduling"
    label = "scheduling"
