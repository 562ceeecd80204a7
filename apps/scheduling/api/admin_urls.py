from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.scheduling.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"locations", views.LocationViewSet, basename="admin-location")
router.register(r"people", views.PersonViewSet, basename="admin-person")
router.register(r"availabilities", views.AvailabilityRuleViewSet, basename="admin-availability")
router.register(r"slots", views.SlotViewSet, basename="admin-slot")

urlpatterns = [path("slots/generate", views.SlotGenerateView.as_view(), name="admin-slots-generate"), *router.urls]
