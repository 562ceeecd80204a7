from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from apps.orgs.roles import ADMIN_API, MANAGERS
from apps.orgs.selectors import access_membership
from apps.scheduling import services
from apps.scheduling.api.serializers import (
    AvailabilityRuleSerializer,
    LocationSerializer,
    PersonSerializer,
    PersonUpdateSerializer,
    SlotGenerateResultSerializer,
    SlotGenerateSerializer,
    SlotSerializer,
)
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance
from schedkit.api.serializers import ProblemSerializer
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView

# The admin API: admin/manager/frontdesk read; managers (and above) change the set-up.
MANAGED = {
    "list": ADMIN_API,
    "retrieve": ADMIN_API,
    "create": MANAGERS,
    "partial_update": MANAGERS,
    "destroy": MANAGERS,
}


class LocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = Location.objects.all()
    serializer_class = LocationSerializer
    action_roles = MANAGED
    http_method_names = ["get", "post", "patch", "delete"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        location = services.location_create(
            actor=self.actor, name=data.pop("name"), timezone_name=data.pop("timezone", "UTC"), **data
        )
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        location = self.get_object()
        serializer = self.get_serializer(location, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        location = services.location_update(actor=self.actor, location=location, **serializer.validated_data)
        return Response(LocationSerializer(location).data)

    def destroy(self, request, *args, **kwargs):
        services.location_delete(actor=self.actor, location=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonFilter(filters.FilterSet):
    location_id = filters.UUIDFilter()

    class Meta:
        model = Person
        fields = ["active", "location_id"]


class PersonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = Person.objects.select_related("membership__user")
    serializer_class = PersonSerializer
    filterset_class = PersonFilter
    action_roles = {k: v for k, v in MANAGED.items() if k != "destroy"}
    http_method_names = ["get", "post", "patch"]

    def create(self, request, *args, **kwargs):
        serializer = PersonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        membership = access_membership(self.actor, data.pop("membership_id"))
        location_id = data.pop("location_id", None)
        location = Location.objects.access(self.actor, location_id) if location_id else None
        person = services.person_create(actor=self.actor, membership=membership, location=location, **data)
        return Response(PersonSerializer(person).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PersonUpdateSerializer, responses=PersonSerializer)
    def partial_update(self, request, *args, **kwargs):
        person = self.get_object()
        serializer = PersonUpdateSerializer(person, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "location_id" in data:
            location_id = data.pop("location_id")
            data["location"] = Location.objects.access(self.actor, location_id) if location_id else None
        person = services.person_update(actor=self.actor, person=person, **data)
        return Response(PersonSerializer(person).data)


class RuleFilter(filters.FilterSet):
    location_id = filters.UUIDFilter()
    person_id = filters.UUIDFilter()

    class Meta:
        model = AvailabilityRule
        fields = ["rule_kind", "location_id", "person_id"]


@extend_schema_view(
    create=extend_schema(
        responses={
            201: AvailabilityRuleSerializer,
            400: OpenApiResponse(
                ProblemSerializer, description="VALIDATION_ERROR, RULE_OVERLAP (with conflicting_rule_id)"
            ),
        }
    )
)
class AvailabilityRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = AvailabilityRule.objects.all()
    serializer_class = AvailabilityRuleSerializer
    filterset_class = RuleFilter
    action_roles = {k: v for k, v in MANAGED.items() if k != "partial_update"}
    http_method_names = ["get", "post", "delete"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        location = Location.objects.access(self.actor, data.pop("location_id"))
        person_id = data.pop("person_id", None)
        person = Person.objects.select_related("location").access(self.actor, person_id) if person_id else None
        rule = services.availability_rule_create(actor=self.actor, location=location, person=person, **data)
        return Response(AvailabilityRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.availability_rule_delete(actor=self.actor, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SlotFilter(filters.FilterSet):
    location_id = filters.UUIDFilter()
    person_id = filters.UUIDFilter()
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = SlotInstance
        fields = ["status", "location_id", "person_id", "date", "date_from", "date_to"]


class SlotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Materialized slots with their counters (inspection; bookings go through /v1/bookings)."""

    queryset = SlotInstance.objects.all()
    serializer_class = SlotSerializer
    filterset_class = SlotFilter
    action_roles = {"list": ADMIN_API, "retrieve": ADMIN_API}
    http_method_names = ["get"]


class SlotGenerateView(SchedKitAPIView):
    org_scoped = True
    action_roles = {"post": MANAGERS}

    @extend_schema(request=SlotGenerateSerializer, responses=SlotGenerateResultSerializer)
    def post(self, request):
        serializer = SlotGenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        location = Location.objects.access(self.actor, data["location_id"])
        person = (
            Person.objects.select_related("location").access(self.actor, data["person_id"])
            if data.get("person_id")
            else None
        )
        result = services.slots_generate(
            actor=self.actor, location=location, person=person, date_from=data["date_from"], date_to=data["date_to"]
        )
        return Response(result, status=status.HTTP_200_OK)
