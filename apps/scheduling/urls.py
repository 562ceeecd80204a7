"""Server-rendered schedule pages; include at the site root: path("", include("apps.scheduling.urls"))."""

from django.urls import path

from apps.scheduling import views

app_name = "schedule"

urlpatterns = [
    path("schedule/", views.calendar, name="calendar"),
]
