from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.dispatch import links, selectors, services
from apps.dispatch.api.serializers import (
    AssignmentSerializer,
    DeclineSerializer,
    DispatchPolicySerializer,
    DispatchRequestSerializer,
    DispatchResultSerializer,
    DispatchStateSerializer,
    LinkActionSerializer,
    StatusSerializer,
)
from apps.dispatch.models import Assignment, DispatchPolicy
from apps.incidents.models import Incident
from apps.incidents.selectors import access_incident
from apps.orgs.models import Role
from apps.orgs.roles import ADMINS, ANY_MEMBER, PUBLIC, SCHEDULERS
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView

UUID_REGEX = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
RESPONDERS = SCHEDULERS | {Role.MEMBER}
EXPIRED = OpenApiResponse(description="ASSIGNMENT_EXPIRED: the acknowledgement window has passed")


def _assignments(ids):
    return list(
        Assignment.objects.filter(pk__in=[a.pk for a in ids])
        .select_related("membership__user", "person")
        .order_by("offered_at", "id")
    )


@extend_schema(tags=["dispatch"])
class IncidentDispatchView(SchedKitAPIView):
    """POST: rank the incident's candidates and (unless dry_run) offer it to the best one and
    start the escalation chain. GET: the latest run, its assignments and deadlines."""

    org_scoped = True
    queryset = Incident.objects.all()
    lookup_field = "pk"
    action_roles = {"get": ANY_MEMBER, "post": SCHEDULERS}

    @extend_schema(responses=DispatchStateSerializer)
    def get(self, request, pk):
        incident = access_incident(self.actor, pk)
        return Response(DispatchStateSerializer(selectors.incident_dispatch_state(incident=incident)).data)

    @extend_schema(
        request=DispatchRequestSerializer,
        responses={
            200: DispatchResultSerializer,
            201: DispatchResultSerializer,
            409: OpenApiResponse(description="INCIDENT_NOT_ACTIVE or CANDIDATE_NOT_ELIGIBLE"),
        },
    )
    def post(self, request, pk):
        incident = access_incident(self.actor, pk)
        serializer = DispatchRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        if values["dry_run"]:
            policy, ranked = services.dispatch_rank(actor=self.actor, incident=incident, team=values.get("team"))
            run, offered = None, []
        else:
            run, ranked = services.dispatch_start(
                actor=self.actor, incident=incident, team=values.get("team"), person_id=values.get("person_id")
            )
            policy = selectors.policy_from_snapshot(incident.org, run.policy_snapshot)
            offered = _assignments(run.assignments.all())
        body = {
            "dry_run": values["dry_run"],
            "incident_id": incident.pk,
            "policy": selectors.policy_snapshot(policy) if run is None else run.policy_snapshot,
            "dispatch": run,
            "offered": offered,
            "candidates": [c.as_json() for c in ranked],
        }
        return Response(
            DispatchResultSerializer(body).data, status=status.HTTP_200_OK if run is None else status.HTTP_201_CREATED
        )


class AssignmentFilter(filters.FilterSet):
    # A plain UUID filter (not a ModelChoiceFilter over every org's incidents): another org's
    # incident id and a made-up one answer alike, an empty page.
    incident = filters.UUIDFilter(field_name="incident_id")

    class Meta:
        model = Assignment
        fields = ["state", "incident"]


@extend_schema(tags=["dispatch"])
class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Offers and their outcome. The responder (or a dispatcher) answers with ack, decline
    and status; the same moves arrive from signed links and the responder's websocket."""

    queryset = Assignment.objects.select_related("membership__user", "person").order_by("-id")
    serializer_class = AssignmentSerializer
    lookup_value_regex = UUID_REGEX
    filterset_class = AssignmentFilter
    action_roles = {
        "list": ANY_MEMBER,
        "retrieve": ANY_MEMBER,
        "ack": RESPONDERS,
        "decline": RESPONDERS,
        "status": RESPONDERS,
    }

    def _answer(self, assignment):
        return Response(AssignmentSerializer(selectors.access_assignment(self.actor, assignment.pk)).data)

    @extend_schema(request=None, responses={200: AssignmentSerializer, 409: EXPIRED})
    @action(detail=True, methods=["post"])
    def ack(self, request, pk=None):
        assignment = selectors.access_assignment(self.actor, pk)
        return self._answer(services.assignment_acknowledge(actor=self.actor, assignment=assignment))

    @extend_schema(request=DeclineSerializer, responses={200: AssignmentSerializer, 409: EXPIRED})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        assignment = selectors.access_assignment(self.actor, pk)
        serializer = DeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(
            services.assignment_decline(
                actor=self.actor, assignment=assignment, reason=serializer.validated_data["reason"]
            )
        )

    @extend_schema(
        request=StatusSerializer,
        responses={200: AssignmentSerializer, 409: OpenApiResponse(description="ILLEGAL_TRANSITION")},
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        assignment = selectors.access_assignment(self.actor, pk)
        serializer = StatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(
            services.assignment_set_status(
                actor=self.actor, assignment=assignment, status=serializer.validated_data["status"]
            )
        )


@extend_schema(tags=["dispatch"])
class AssignmentLinkView(SchedKitAPIView):
    """The signed ack/decline links of the push, ntfy and email notices (no login)."""

    authentication_classes: list = []
    action_roles = {"post": PUBLIC}

    @extend_schema(request=LinkActionSerializer, responses={200: AssignmentSerializer, 409: EXPIRED})
    def post(self, request, token: str, link_action: str):
        value = links.read_link_token(token)
        if value is None or link_action not in ("ack", "decline"):
            raise Http404
        assignment = (
            Assignment.objects.select_related("membership__user", "person")
            .filter(pk=value["a"], membership_id=value["m"])
            .first()
        )
        if assignment is None:
            raise Http404
        serializer = LinkActionSerializer(data=request.data if isinstance(request.data, dict) else {})
        serializer.is_valid(raise_exception=True)
        label = f"link:{assignment.membership_id}"
        services.assignment_respond(
            actor=None,
            assignment=assignment,
            action=link_action,
            reason=serializer.validated_data["reason"],
            label=label,
        )
        fresh = Assignment.objects.select_related("membership__user", "person").get(pk=assignment.pk)
        return Response(AssignmentSerializer(fresh).data)


@extend_schema(tags=["dispatch"])
class DispatchPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Escalation chains: per org, optionally per team and/or priority."""

    queryset = DispatchPolicy.objects.select_related("team")
    serializer_class = DispatchPolicySerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "patch", "delete"]
    action_roles = {
        "list": SCHEDULERS,
        "retrieve": SCHEDULERS,
        "create": ADMINS,
        "partial_update": ADMINS,
        "destroy": ADMINS,
    }

    def create(self, request, *args, **kwargs):
        serializer = DispatchPolicySerializer(data=request.data, org=self.actor.org)
        serializer.is_valid(raise_exception=True)
        policy = services.dispatch_policy_create(actor=self.actor, **serializer.validated_data)
        return Response(DispatchPolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        serializer = DispatchPolicySerializer(data=request.data, org=self.actor.org, partial=True)
        serializer.is_valid(raise_exception=True)
        policy = services.dispatch_policy_update(actor=self.actor, policy=policy, **serializer.validated_data)
        return Response(DispatchPolicySerializer(policy).data)

    def destroy(self, request, *args, **kwargs):
        services.dispatch_policy_delete(actor=self.actor, policy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
