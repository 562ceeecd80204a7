from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.incidents.api import views

router = SimpleRouter(trailing_slash=False)
# One model, two mental models: the same viewset and rows under both routes (SPEC §5).
router.register(r"incidents", views.IncidentViewSet, basename="incident")
router.register(r"tickets", views.IncidentViewSet, basename="ticket")
router.register(r"intake-endpoints", views.IntakeEndpointViewSet, basename="intake-endpoint")

urlpatterns = [
    path("intake/<str:token>", views.IntakeView.as_view(), name="incident-intake"),
    path("status/<str:token>", views.PublicStatusView.as_view(), name="incident-status"),
    *router.urls,
]
