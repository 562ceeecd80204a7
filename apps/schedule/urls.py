"""Server-rendered schedule pages; include at the site root: path("", include("apps.schedule.urls"))."""

from django.urls import path

from apps.schedule import views

app_name = "schedule"

urlpatterns = [
    path("schedule/", views.calendar, name="calendar"),
]
