from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.events import stream
from apps.events.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"events", views.EventViewSet, basename="event")
urlpatterns = [
    # before the routers' detail routes (events/{id}, signals/{id}); /v1/signals/stream is the
    # documented address, kept for compatibility
    path("events/stream", stream.event_stream, name="event-stream"),
    path("signals/stream", stream.event_stream, name="signal-stream"),
    *router.urls,
]
