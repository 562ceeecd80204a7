"""Server-rendered dispatch pages; include at the site root."""

from django.urls import path

from apps.dispatch import views

app_name = "dispatch"

urlpatterns = [
    path("dispatch/incidents/<uuid:incident_id>/", views.incident_panel, name="incident"),
    path("dispatch/war-room/", views.war_room, name="war-room"),
    path("dispatch/r/<str:token>/", views.responder, name="responder"),
]
