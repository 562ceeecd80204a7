from django.urls import path, re_path

from apps.bookings import views

app_name = "bookings"

urlpatterns = [
    path("frontdesk/", views.frontdesk, name="frontdesk"),
    path("schedule/bookings.json", views.bookings_feed, name="schedule-bookings"),
    path("book/manage/<str:token>/<str:operation>", views.manage_page, name="manage"),
    path("book/host/<str:token>/<str:decision>", views.host_decision_page, name="host-decision"),
    path("book/<slug:username>/<slug:event_slug>", views.person_book, name="person-book"),
    path("book/<slug:org_slug>/<slug:team_slug>/<slug:event_slug>", views.team_book, name="team-book"),
    # Every public URL also answers with a trailing slash (a redirect to the canonical one).
    re_path(r"^(?P<path>(?:book|status)/.+?)/+$", views.without_trailing_slash, name="strip-slash"),
]
