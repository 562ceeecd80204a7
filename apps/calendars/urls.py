"""Server-rendered calendar-connection pages; include at the site root."""

from django.urls import path

from apps.calendars import views

app_name = "calendars"

urlpatterns = [
    path("calendars/", views.connection_page, name="connection"),
    path("calendars/google/connect", views.connect, name="connect"),
    path("calendars/google/callback", views.callback, name="callback"),
    path("calendars/disconnect", views.disconnect, name="disconnect"),
]
