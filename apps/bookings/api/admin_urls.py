from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.bookings.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"event-types", views.EventTypeViewSet, basename="admin-event-type")
router.register(r"bookings", views.AdminBookingViewSet, basename="admin-booking")

urlpatterns = [
    path(
        "event-types/<uuid:pk>/rotate-webhook-secret",
        views.EventTypeViewSet.as_view({"post": "rotate_webhook_secret"}),
        name="admin-event-type-rotate-webhook-secret",
    ),
    *router.urls,
]
