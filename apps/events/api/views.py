from django_filters import rest_framework as filters
from rest_framework import mixins

from apps.events.api.serializers import EventSerializer
from apps.events.models import Event
from apps.orgs.roles import ANY_MEMBER
from schedkit.api.views import OrgScopedViewSet


class EventFilter(filters.FilterSet):
    type = filters.CharFilter(field_name="type")
    type_prefix = filters.CharFilter(field_name="type", lookup_expr="startswith")
    after = filters.UUIDFilter(field_name="id", lookup_expr="gt", help_text="Events newer than this event id")

    class Meta:
        model = Event
        fields = ["type", "type_prefix", "after"]


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """The org's event log (the outbox), newest first: what the live streams carried."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilter
    action_roles = {"list": ANY_MEMBER, "retrieve": ANY_MEMBER}
