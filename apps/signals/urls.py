"""Server-rendered signal pages; include at the site root: path("", include("apps.signals.urls"))."""

from django.urls import path

from apps.signals import views

app_name = "signals"

urlpatterns = [
    path("signals/map/", views.live_map, name="map"),
]
