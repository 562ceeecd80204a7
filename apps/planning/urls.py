"""Server-rendered planning pages; included at the site root."""

from django.urls import path

from apps.planning import views

app_name = "planning"

urlpatterns = [
    path("planning/", views.board, name="board-today"),
    path("planning/<str:day>/", views.board, name="board"),
]
