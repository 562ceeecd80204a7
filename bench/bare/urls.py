from django.urls import path

from bare import views

urlpatterns = [
    path("json", views.json_view),
    path("drf", views.ItemsView.as_view()),
]
