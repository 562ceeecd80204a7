from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"

    def ready(self):
        from apps.bookings import delivery, webhooks  # noqa: F401 - register the booking.* emails and webhook target
        from apps.bookings.selectors import booking_busy
        from apps.scheduling.freebusy import register_busy_source

        register_busy_source("booking", booking_busy)
