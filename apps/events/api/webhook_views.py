"""The org's webhook endpoints (subscriptions by event-type prefix, secret shown once and
rotatable) and their delivery log (every try, manual redelivery)."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from apps.events import services
from apps.events.api.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointSecretSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
)
from apps.events.models import WebhookDelivery, WebhookEndpoint
from apps.orgs.roles import MANAGERS
from schedkit.api.views import OrgScopedViewSet


class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = WebhookEndpoint.objects.filter(owner="", deleted_at__isnull=True)
    serializer_class = WebhookEndpointSerializer
    action_roles = {
        "list": MANAGERS,
        "retrieve": MANAGERS,
        "create": MANAGERS,
        "partial_update": MANAGERS,
        "destroy": MANAGERS,
        "rotate_secret": MANAGERS,
    }
    http_method_names = ["get", "post", "patch", "delete"]

    def load_parents(self):
        self.endpoint = self.get_object() if self.action == "rotate_secret" else None

    @extend_schema(request=WebhookEndpointSerializer, responses={201: WebhookEndpointSecretSerializer})
    def create(self, request, *args, **kwargs):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint = services.webhook_endpoint_create(
            actor=self.actor, url=data["url"], event_prefix=data.get("event_prefix", "")
        )
        if data.get("active") is False:
            endpoint = services.webhook_endpoint_update(actor=self.actor, endpoint=endpoint, active=False)
        return Response(WebhookEndpointSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointUpdateSerializer, responses=WebhookEndpointSerializer)
    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        serializer = WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(actor=self.actor, endpoint=endpoint, **serializer.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, *args, **kwargs):
        services.webhook_endpoint_delete(actor=self.actor, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookEndpointSecretSerializer})
    def rotate_secret(self, request, *args, **kwargs):
        endpoint = services.webhook_endpoint_rotate_secret(actor=self.actor, endpoint=self.endpoint)
        return Response(WebhookEndpointSecretSerializer(endpoint).data)


class WebhookDeliveryFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    endpoint_id = filters.UUIDFilter()
    event_id = filters.UUIDFilter()
    event_type = filters.CharFilter(field_name="event__type", lookup_expr="startswith")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "endpoint_id", "event_id", "event_type"]


class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = WebhookDelivery.objects.select_related("event").prefetch_related("attempt_log")
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    action_roles = {"list": MANAGERS, "retrieve": MANAGERS, "redeliver": MANAGERS}
    http_method_names = ["get", "post"]

    def load_parents(self):
        self.delivery = self.get_object() if self.action == "redeliver" else None

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def redeliver(self, request, *args, **kwargs):
        delivery = services.webhook_redeliver(actor=self.actor, delivery=self.delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
