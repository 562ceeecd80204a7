from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.dispatch.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"assignments", views.AssignmentViewSet, basename="assignment")
router.register(r"dispatch-policies", views.DispatchPolicyViewSet, basename="dispatch-policy")

urlpatterns = [
    path("incidents/<uuid:pk>/dispatch", views.IncidentDispatchView.as_view(), name="incident-dispatch"),
    path("assignment-links/<str:token>/<str:link_action>", views.AssignmentLinkView.as_view(), name="assignment-link"),
    *router.urls,
]
