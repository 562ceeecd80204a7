from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.signals.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"signals/beacons", views.BeaconViewSet, basename="signal-beacon")
router.register(r"signals", views.SignalViewSet, basename="signal")
router.register(r"push-subscriptions", views.PushSubscriptionViewSet, basename="push-subscription")

urlpatterns = [
    path("signals/beacon", views.BeaconPingView.as_view(), name="signal-beacon-ping"),
    path("signals/beacon/stop", views.BeaconStopView.as_view(), name="signal-beacon-stop"),
    path("push/vapid-key", views.VapidKeyView.as_view(), name="push-vapid-key"),
    *router.urls,
]
