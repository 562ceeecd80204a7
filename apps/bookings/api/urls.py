from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.bookings.api import views

router = SimpleRouter(trailing_slash=False)

urlpatterns = [
    path("dates", views.DatesView.as_view(), name="booking-dates"),
    path("slots", views.ExposedSlotsView.as_view(), name="booking-exposed-slots"),
    path("bookings", views.BookingViewSet.as_view({"post": "create"}), name="booking-list"),
    path("bookings/<uuid:pk>", views.BookingViewSet.as_view({"get": "retrieve"}), name="booking-detail"),
    path("bookings/<uuid:pk>/confirm", views.BookingViewSet.as_view({"post": "confirm"}), name="booking-confirm"),
    path("slots/<slug:username>/<slug:event_slug>", views.PersonSlotsView.as_view(), name="booking-person-slots"),
    path(
        "slots/<slug:org_slug>/<slug:team_slug>/<slug:event_slug>",
        views.TeamSlotsView.as_view(),
        name="booking-team-slots",
    ),
    path("book/manage/<str:token>", views.ManageBookingView.as_view(), name="booking-manage"),
    path(
        "book/manage/<str:token>/<str:operation>",
        views.ManageBookingOperationView.as_view(),
        name="booking-manage-operation",
    ),
    path("book/host/<str:token>/<str:decision>", views.HostDecisionView.as_view(), name="booking-host-decision"),
    path("book/<slug:username>/<slug:event_slug>", views.PersonBookView.as_view(), name="booking-person-book"),
    path(
        "book/<slug:org_slug>/<slug:team_slug>/<slug:event_slug>",
        views.TeamBookView.as_view(),
        name="booking-team-book",
    ),
]
