from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.scheduling.api import entries as views

router = SimpleRouter(trailing_slash=False)
router.register(r"schedule-entries", views.ScheduleEntryViewSet, basename="schedule-entry")
router.register(r"schedule-feeds", views.ScheduleFeedViewSet, basename="schedule-feed")

urlpatterns = [
    path("schedule-feed/<str:token>.ics", views.ScheduleFeedIcsView.as_view(), name="schedule-feed-ics"),
    *router.urls,
]
