from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.planning.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"daily-schedules", views.DailyScheduleViewSet, basename="daily-schedule")
router.register(r"schedule-requests", views.ScheduleRequestViewSet, basename="schedule-request")
router.register(r"work-requirements", views.WorkRequirementViewSet, basename="work-requirement")
router.register(r"optimization-runs", views.OptimizationRunViewSet, basename="optimization-run")
# Routed before the scheduling app's urls: this viewset serves GET /v1/schedule-conflicts
# (stored conflicts, or the live check when start/end are given) and POST …/resolve.
router.register(r"schedule-conflicts", views.ScheduleConflictViewSet, basename="schedule-conflict")

urlpatterns = [
    path("schedule-optimization", views.ScheduleOptimizationView.as_view(), name="schedule-optimization"),
    *router.urls,
]
