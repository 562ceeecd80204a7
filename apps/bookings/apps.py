from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"

    def ready(self):
        from apps.bookings import webhooks  # noqa: F401 - registers the booking.* delivery handler
