from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.incidents import selectors, services
from apps.incidents.api.serializers import (
    ActivitySerializer,
    AssignSerializer,
    CommentSerializer,
    GenericIntakeSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    IntakeEndpointCreatedSerializer,
    IntakeEndpointSerializer,
    IntakeResultSerializer,
    PublicStatusSerializer,
    TransitionSerializer,
)
from apps.incidents.filters import IncidentFilter
from apps.incidents.intake import parse_alertmanager
from apps.incidents.models import Incident, IntakeEndpoint, Priority
from apps.orgs.models import Membership, Role
from apps.orgs.roles import ADMINS, ANY_MEMBER, PUBLIC, SCHEDULERS
from schedkit.api.problems import Problem
from schedkit.api.throttling import client_ident, enforce_rate
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView

# Members change incidents assigned to them (checked per object in the services, 403 otherwise).
RESPONDERS = SCHEDULERS | {Role.MEMBER}
UUID_REGEX = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def _memberships(actor, ids) -> list[Membership]:
    found = list(Membership.objects.for_actor(actor).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "Every assignee must be a member of this organization.")
    return found


@extend_schema(tags=["incidents"])
class IncidentViewSet(mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Incidents and tickets: one model, served at both /v1/incidents and /v1/tickets."""

    queryset = Incident.objects.select_related("org").prefetch_related(selectors.ASSIGNEES)
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "patch"]
    action_roles = {
        "list": ANY_MEMBER,
        "retrieve": ANY_MEMBER,
        "activity": ANY_MEMBER,
        "create": SCHEDULERS,
        "partial_update": RESPONDERS,
        "transition": RESPONDERS,
        "comment": RESPONDERS,
        "assign": SCHEDULERS,
    }

    def list(self, request, *args, **kwargs):
        queryset = selectors.incident_list(fetched_by=self.actor, filters=request.query_params)
        page = self.paginate_queryset(queryset.prefetch_related(None))
        selectors.attach_assignee_rows(page)  # rows, not Membership/User instances
        return self.get_paginated_response(IncidentSerializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        serializer = IncidentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        assignees = _memberships(self.actor, data.pop("assignee_ids", []))
        incident = services.incident_create(actor=self.actor, org=self.actor.org, assignees=assignees, **data)
        return Response(IncidentSerializer(self._fresh(incident)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer)
    def partial_update(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = IncidentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        assignees = None
        if "assignee_id" in changes:
            one = changes.pop("assignee_id")
            assignees = _memberships(self.actor, [one]) if one else []
        elif "assignee_ids" in changes:
            assignees = _memberships(self.actor, changes.pop("assignee_ids"))
        incident = services.incident_patch(
            actor=self.actor, incident=incident, status=changes.pop("status", None), assignees=assignees, **changes
        )
        return Response(IncidentSerializer(self._fresh(incident)).data)

    @extend_schema(
        request=TransitionSerializer,
        responses={200: IncidentSerializer, 409: OpenApiResponse(description="ILLEGAL_TRANSITION, with `allowed`")},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = services.incident_transition(
            actor=self.actor,
            incident=incident,
            to=serializer.validated_data["status"],
            note=serializer.validated_data["note"],
        )
        return Response(IncidentSerializer(self._fresh(incident)).data)

    @extend_schema(request=AssignSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignees = _memberships(self.actor, serializer.validated_data["assignee_ids"])
        incident = services.incident_assign(actor=self.actor, incident=incident, assignees=assignees)
        return Response(IncidentSerializer(self._fresh(incident)).data)

    @extend_schema(request=CommentSerializer, responses={201: ActivitySerializer})
    @action(detail=True, methods=["post"], url_path="comments")
    def comment(self, request, *args, **kwargs):
        incident = self.get_object()
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.incident_comment(actor=self.actor, incident=incident, body=serializer.validated_data["body"])
        return Response(ActivitySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ActivitySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def activity(self, request, *args, **kwargs):
        incident = self.get_object()
        page = self.paginate_queryset(selectors.incident_activity(incident=incident))
        return self.get_paginated_response(ActivitySerializer(page, many=True).data)

    def _fresh(self, incident: Incident) -> Incident:
        return selectors.access_incident(self.actor, incident.pk)


@extend_schema(tags=["incidents"])
class IntakeEndpointViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    """Tokenized intake URLs for monitoring tools (admins manage them; the token shows once)."""

    queryset = IntakeEndpoint.objects.all()
    serializer_class = IntakeEndpointSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "delete"]
    action_roles = {"list": ADMINS, "create": ADMINS, "destroy": ADMINS}

    @extend_schema(request=IntakeEndpointSerializer, responses={201: IntakeEndpointCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = IntakeEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, raw = services.intake_endpoint_create(actor=self.actor, **serializer.validated_data)
        body = IntakeEndpointSerializer(endpoint).data
        body["token"] = raw
        body["url"] = f"{settings.PUBLIC_BASE_URL}/v1/intake/{raw}"
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.intake_endpoint_delete(actor=self.actor, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class IntakeResponseSerializer(serializers.Serializer):
    results = IntakeResultSerializer(many=True)


@extend_schema(tags=["incidents"])
class IntakeView(SchedKitAPIView):
    """Public, token-in-URL intake: generic JSON {title, description, priority, fingerprint}
    or a Prometheus Alertmanager webhook (firing opens, resolved resolves, grouped by
    fingerprint)."""

    authentication_classes: list = []
    throttle_classes: list = []  # per token, in post() (a busy Alertmanager is not an anonymous client)
    action_roles = {"post": PUBLIC}

    @extend_schema(
        request=GenericIntakeSerializer,
        responses={200: IntakeResponseSerializer, 201: IntakeResponseSerializer},
        description="Body: the generic JSON shape below, or an Alertmanager webhook payload (has `alerts`).",
    )
    def post(self, request, token: str):
        endpoint = services.intake_endpoint_resolve(token)
        if endpoint is None:
            enforce_rate("anon", client_ident(request))  # guessing tokens spends the anonymous IP budget
            raise Http404
        enforce_rate("intake", str(endpoint.pk), endpoint.rate_limit or None)
        data = request.data
        label = f"webhook:{endpoint.name}"[:200]
        results = []
        if isinstance(data, dict) and "alerts" in data:
            for alert in parse_alertmanager(data, default_priority=endpoint.default_priority):
                if alert.firing:
                    incident, created = services.incident_intake(
                        org=endpoint.org,
                        title=alert.title,
                        description=alert.description,
                        priority=alert.priority,
                        fingerprint=alert.fingerprint,
                        label=label,
                        required_skills=alert.required_skills,
                    )
                    results.append((incident.pk if incident else None, "created" if created else "appended", alert))
                else:
                    incident = services.incident_resolve_by_fingerprint(
                        org=endpoint.org, fingerprint=alert.fingerprint, label=label
                    )
                    results.append((incident.pk if incident else None, "resolved" if incident else "ignored", alert))
            body = [
                {"id": str(pk) if pk else None, "action": verb, "fingerprint": alert.fingerprint}
                for pk, verb, alert in results
            ]
            created_any = any(verb == "created" for _, verb, _ in results)
            return Response({"results": body}, status=201 if created_any else 200)
        serializer = GenericIntakeSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        incident, created = services.incident_intake(
            org=endpoint.org,
            title=values["title"],
            description=values["description"],
            priority=values.get("priority") or endpoint.default_priority or Priority.NORMAL,
            fingerprint=values["fingerprint"],
            label=label,
            required_skills=values["required_skills"],
        )
        body = {
            "id": str(incident.pk),
            "action": "created" if created else "appended",
            "fingerprint": values["fingerprint"],
        }
        return Response({"results": [body]}, status=201 if created else 200)


@extend_schema(tags=["incidents"])
class PublicStatusView(SchedKitAPIView):
    """The customer's view of one incident, by its unguessable token: public fields only."""

    authentication_classes: list = []
    action_roles = {"get": PUBLIC}

    @extend_schema(responses=PublicStatusSerializer)
    def get(self, request, token: str):
        return Response(PublicStatusSerializer(selectors.incident_by_customer_token(token)).data)
