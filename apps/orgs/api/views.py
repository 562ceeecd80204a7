from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from apps.orgs import services
from apps.orgs.api.serializers import (
    InviteAcceptSerializer,
    InviteSerializer,
    MembershipSerializer,
    OrgSerializer,
    OrgUpdateSerializer,
    TeamMemberSerializer,
    TeamMemberUpdateSerializer,
    TeamSerializer,
    TeamUpdateSerializer,
)
from apps.orgs.models import Invite, Membership, Org, Team, TeamMember
from apps.orgs.roles import ADMINS, ANY_MEMBER, AUTHENTICATED, MANAGERS
from apps.orgs.selectors import access_membership, access_team, org_list_for_user
from schedkit.api.serializers import ProblemSerializer
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView, SchedKitViewSet

# Team structure: everyone reads it, managers (and above) change it.
MANAGED_BY_MANAGERS = {
    "list": ANY_MEMBER,
    "retrieve": ANY_MEMBER,
    "create": MANAGERS,
    "partial_update": MANAGERS,
    "destroy": MANAGERS,
}


class OrgViewSet(SchedKitViewSet):
    """Orgs the caller belongs to. An API key sees its own org only."""

    serializer_class = OrgSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "org_slug"
    org_url_kwarg = "org_slug"
    action_roles = {"list": AUTHENTICATED, "create": AUTHENTICATED, "retrieve": ANY_MEMBER, "partial_update": ADMINS}
    http_method_names = ["get", "post", "patch"]
    queryset = Org.objects.none()

    def get_queryset(self):
        return org_list_for_user(user=self.request.user, api_key=self.actor.api_key)

    def get_object(self):
        # The actor's org was resolved from the URL slug by membership (404 otherwise); read
        # the row fresh, since an API key's actor carries a cached snapshot of it.
        return Org.objects.get(pk=self.actor.org_id)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(OrgSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(OrgSerializer(self.get_object()).data)

    def create(self, request, *args, **kwargs):
        serializer = OrgSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org = services.org_create(
            user=request.user, slug=data["slug"], name=data["name"], timezone_name=data.get("timezone", "UTC")
        )
        return Response(OrgSerializer(org).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OrgUpdateSerializer, responses=OrgSerializer)
    def partial_update(self, request, *args, **kwargs):
        org = self.get_object()
        serializer = OrgUpdateSerializer(org, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        org = services.org_update(actor=self.actor, org=org, **serializer.validated_data)
        return Response(OrgSerializer(org).data)


class MembershipFilter(filters.FilterSet):
    class Meta:
        model = Membership
        fields = ["role", "active"]


LAST_OWNER = OpenApiResponse(
    ProblemSerializer, description="LAST_OWNER: the change would leave the org without an active owner"
)


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    # only() what the serializer renders: a full page instantiates 50 memberships and users.
    queryset = Membership.objects.select_related("user").only(
        "id",
        "org_id",
        "role",
        "skills",
        "active",
        "created_at",
        "user__id",
        "user__email",
        "user__username",
        "user__name",
    )
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    org_url_kwarg = "org_slug"
    action_roles = {"list": ANY_MEMBER, "retrieve": ANY_MEMBER, "partial_update": ADMINS, "destroy": ADMINS}
    http_method_names = ["get", "patch", "delete"]

    def list(self, request, *args, **kwargs):
        # Rows, not model instances (tests/test_orgs.py checks both render the same); and no
        # FilterSet (a deep copy of its filters) when no filter is asked for.
        queryset = self.get_queryset()
        if request.query_params.keys() & MembershipFilter.base_filters.keys():
            queryset = self.filter_queryset(queryset)
        rows = queryset.values(*MembershipSerializer.ROW_COLUMNS)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([MembershipSerializer.render_row(row) for row in page])

    @extend_schema(responses={200: MembershipSerializer, 409: LAST_OWNER})
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = self.get_serializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_update(actor=self.actor, membership=membership, **serializer.validated_data)
        return Response(self.get_serializer(membership).data)

    @extend_schema(responses={204: None, 409: LAST_OWNER})
    def destroy(self, request, *args, **kwargs):
        services.membership_remove(actor=self.actor, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    queryset = Invite.objects.all()
    serializer_class = InviteSerializer
    org_url_kwarg = "org_slug"
    action_roles = {"list": ADMINS, "create": ADMINS, "destroy": ADMINS}
    http_method_names = ["get", "post", "delete"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invite = services.invite_create(actor=self.actor, **serializer.validated_data)
        return Response(self.get_serializer(invite).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.invite_revoke(actor=self.actor, invite=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteAcceptView(SchedKitAPIView):
    """Accept an invite as the signed-in user (the emailed link also works without login)."""

    action_roles = {"post": AUTHENTICATED}

    @extend_schema(request=InviteAcceptSerializer, responses=MembershipSerializer)
    def post(self, request):
        serializer = InviteAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _, membership = services.invite_accept(token=serializer.validated_data["token"], user=request.user)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "team_slug"
    org_url_kwarg = "org_slug"
    action_roles = MANAGED_BY_MANAGERS
    http_method_names = ["get", "post", "patch", "delete"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = services.team_create(actor=self.actor, **serializer.validated_data)
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TeamUpdateSerializer, responses=TeamSerializer)
    def partial_update(self, request, *args, **kwargs):
        team = self.get_object()
        serializer = TeamUpdateSerializer(team, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        team = services.team_update(actor=self.actor, team=team, **serializer.validated_data)
        return Response(TeamSerializer(team).data)

    def destroy(self, request, *args, **kwargs):
        services.team_delete(actor=self.actor, team=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamMemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = TeamMember.objects.select_related("membership__user", "team")
    serializer_class = TeamMemberSerializer
    org_url_kwarg = "org_slug"
    action_roles = MANAGED_BY_MANAGERS
    http_method_names = ["get", "post", "patch", "delete"]

    def load_parents(self):
        self.team = access_team(self.actor, self.kwargs["team_slug"])

    def get_queryset(self):
        return super().get_queryset().filter(team=self.team)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = access_membership(self.actor, serializer.validated_data["membership_id"])
        team_member = services.team_member_add(
            actor=self.actor,
            team=self.team,
            membership=membership,
            active=serializer.validated_data.get("active", True),
        )
        return Response(self.get_serializer(team_member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TeamMemberUpdateSerializer, responses=TeamMemberSerializer)
    def partial_update(self, request, *args, **kwargs):
        team_member = self.get_object()
        serializer = TeamMemberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team_member = services.team_member_update(
            actor=self.actor, team_member=team_member, active=serializer.validated_data["active"]
        )
        return Response(self.get_serializer(team_member).data)

    def destroy(self, request, *args, **kwargs):
        services.team_member_remove(actor=self.actor, team_member=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
