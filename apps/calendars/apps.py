from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """External calendars (Google): connect, cache busy time as a busy source of the time
    model, and write bookings to the host's chosen calendar through the outbox delivery."""

    name = "apps.calendars"
    label = "calendars"

    def ready(self):
        from apps.calendars import delivery  # noqa: F401 - registers the booking.* calendar writer
        from apps.calendars.selectors import calendar_busy
        from apps.scheduling.freebusy import register_busy_source

        register_busy_source("google", calendar_busy)
