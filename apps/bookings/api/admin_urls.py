from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.bookings.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"event-types", views.EventTypeViewSet, basename="admin-event-type")
router.register(r"bookings", views.AdminBookingViewSet, basename="admin-booking")
router.register(r"webhooks", views.WebhookEndpointViewSet, basename="admin-webhook")
router.register(r"webhook-deliveries", views.WebhookDeliveryViewSet, basename="admin-webhook-delivery")

urlpatterns = [
    path(
        "webhook-deliveries/<uuid:pk>/redeliver",
        views.WebhookDeliveryViewSet.as_view({"post": "redeliver"}),
        name="admin-webhook-delivery-redeliver",
    ),
    *router.urls,
]
