from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.events.api import webhook_views as views

router = SimpleRouter(trailing_slash=False)
router.register(r"webhooks", views.WebhookEndpointViewSet, basename="admin-webhook")
router.register(r"webhook-deliveries", views.WebhookDeliveryViewSet, basename="admin-webhook-delivery")

urlpatterns = [
    path(
        "webhooks/<uuid:pk>/rotate-secret",
        views.WebhookEndpointViewSet.as_view({"post": "rotate_secret"}),
        name="admin-webhook-rotate-secret",
    ),
    path(
        "webhook-deliveries/<uuid:pk>/redeliver",
        views.WebhookDeliveryViewSet.as_view({"post": "redeliver"}),
        name="admin-webhook-delivery-redeliver",
    ),
    *router.urls,
]
