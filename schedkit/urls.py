from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from apps.accounts import views as account_views
from apps.orgs import views as org_views
from schedkit.api.problems import api_not_found
from schedkit.api.schema import SchemaJSONView, SchemaYAMLView
from schedkit.ops import views as ops_views

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.orgs.api.urls")),
    path("", include("apps.events.api.urls")),
    path("", include("apps.signals.api.urls")),
    path("", include("apps.incidents.api.urls")),
    path("", include("apps.planning.api.urls")),  # before scheduling: it serves /v1/schedule-conflicts
    path("", include("apps.scheduling.api.urls")),
    path("", include("apps.bookings.api.urls")),
    path("", include("apps.dispatch.api.urls")),
    path("", include("apps.calendars.api.urls")),
    path("auth/link", account_views.magic_link, name="auth-link"),
    re_path(r"^.*$", api_not_found, name="api-not-found"),  # last: unknown → problem+json 404
]

# The admin API (/admin/v1/…): admin, manager or frontdesk roles (SPEC §2).
admin_api_v1 = [
    path("", include("apps.scheduling.api.admin_urls")),
    path("", include("apps.bookings.api.admin_urls")),
    path("", include("apps.events.api.admin_urls")),
    re_path(r"^.*$", api_not_found, name="admin-api-not-found"),  # never falls into the Django admin
]

urlpatterns = [
    path("v1/", include(api_v1)),
    path("admin/v1/", include(admin_api_v1)),
    path("openapi.json", SchemaJSONView.as_view(), name="openapi-json"),
    path("openapi.yaml", SchemaYAMLView.as_view(), name="openapi-yaml"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-json"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-json"), name="redoc"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg", permanent=True)),
    path("admin/", admin.site.urls),
    path("invites/<str:token>/", org_views.invite_accept, name="invite-accept-page"),
    path("", include("apps.accounts.urls")),
    path("", include("apps.incidents.urls")),
    path("", include("apps.dispatch.urls")),
    path("", include("apps.signals.urls")),
    path("", include("apps.bookings.urls")),
    path("", include("apps.planning.urls")),
    path("", include("apps.calendars.urls")),
    path("", include("apps.scheduling.urls")),
    path("", org_views.home, name="home"),
]

handler404 = "schedkit.api.problems.handler404"
handler500 = "schedkit.api.problems.handler500"
