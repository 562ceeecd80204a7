from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"

    def ready(self):
        from apps.bookings import delivery, webhooks  # noqa: F401 - register the booking.* emails and webhook target
