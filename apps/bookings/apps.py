from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"

    def ready(self):
        # Imports here: models and receivers need the app registry (AppConfig.ready).
        from apps.bookings import delivery, webhooks  # noqa: F401 - register the booking.* emails and webhook target
        from apps.bookings.models import Booking, EventType
        from apps.bookings.selectors import booking_busy, hold_busy
        from apps.scheduling import time_version
        from apps.scheduling.freebusy import register_busy_source

        # Pending and confirmed bookings change only with writes: kept under the org's time
        # version, which every booking write bumps (a hold's own save does not: a confirmed
        # or cancelled hold is saved with its new status). Live holds expire by the clock:
        # `booking_busy`'s "hold" intervals are never kept, a repeated read asks `hold_busy`
        # alone. Hold expiry (`QuerySet.update` in services) changes only that part: no bump.
        register_busy_source("booking", booking_busy, cacheable=True, live=hold_busy, live_kind="hold")
        time_version.watch(Booking, skip=lambda booking: booking.status == Booking.Status.HELD)
        time_version.watch(EventType, fields=("buffer_before_minutes", "buffer_after_minutes"))
