from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """External calendars (Google): connect, cache busy time as a busy source of the time
    model, and write bookings to the host's chosen calendar through the outbox delivery."""

    name = "apps.calendars"
    label = "calendars"

    def ready(self):
        # Imports here: models and receivers need the app registry (AppConfig.ready).
        from apps.calendars import delivery  # noqa: F401 - registers the booking.* calendar writer
        from apps.calendars.models import BusyBlock, CalendarConnection, ConnectedCalendar
        from apps.calendars.selectors import calendar_busy
        from apps.scheduling import time_version
        from apps.scheduling.freebusy import register_busy_source

        # The cached busy blocks change only with the sync and the user's choices: kept under
        # the org's time version. Bulk paths (the sync's delete + bulk_create, blocks deleted
        # when a calendar stops checking conflicts, the status `update` of a lost grant) bump
        # it in apps.calendars.services; blocks deleted with their calendar or connection
        # bump through those rows' receivers.
        register_busy_source("google", calendar_busy, cacheable=True)
        time_version.watch(BusyBlock, deletes=False)  # deletes: fast, bumped by services
        time_version.watch(ConnectedCalendar, fields=("check_conflicts", "connection"))
        time_version.watch(CalendarConnection, fields=("status", "membership"))
