from rest_framework.routers import SimpleRouter

from apps.calendars.api.views import CalendarConnectionViewSet

router = SimpleRouter(trailing_slash=False)
router.register(r"calendar-connections", CalendarConnectionViewSet, basename="calendar-connection")

urlpatterns = router.urls
