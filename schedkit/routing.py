from django.urls import path

from apps.events.consumers import OrgEventsConsumer

websocket_urlpatterns = [
    path("ws/orgs/<slug:org_slug>/", OrgEventsConsumer.as_asgi()),
]
