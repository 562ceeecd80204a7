from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.orgs.api import views

router = SimpleRouter(trailing_slash=False)
router.register(r"orgs", views.OrgViewSet, basename="org")
router.register(r"orgs/(?P<org_slug>[-\w]+)/members", views.MembershipViewSet, basename="org-member")
router.register(r"orgs/(?P<org_slug>[-\w]+)/invites", views.InviteViewSet, basename="org-invite")
router.register(r"orgs/(?P<org_slug>[-\w]+)/teams", views.TeamViewSet, basename="org-team")
router.register(
    r"orgs/(?P<org_slug>[-\w]+)/teams/(?P<team_slug>[-\w]+)/members",
    views.TeamMemberViewSet,
    basename="org-team-member",
)

urlpatterns = [path("invites/accept", views.InviteAcceptView.as_view(), name="invite-accept"), *router.urls]
