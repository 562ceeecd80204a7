from rest_framework import serializers

from apps.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from schedkit.api.serializers import StrictModelSerializer


class EventSerializer(serializers.ModelSerializer):
    ts = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "ts", "data"]


class WebhookEndpointSerializer(StrictModelSerializer):
    event_prefix = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Comma-separated event type prefixes (booking.,incident.,schedule.,signal.alert); empty: all",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "event_prefix", "active", "created_at"]
        read_only_fields = ["id", "created_at"]


class WebhookEndpointUpdateSerializer(WebhookEndpointSerializer):
    url = serializers.URLField(required=False, max_length=500)


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """Creation and rotation only: the signing secret, shown this once."""

    secret = serializers.CharField(read_only=True, help_text="whsec_… verify with any Standard Webhooks library")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["id", "status_code", "error", "duration_ms", "created_at"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)
    status = serializers.CharField(read_only=True, help_text="pending, delivered, failed, cancelled")
    event_id = serializers.UUIDField(read_only=True)
    endpoint_id = serializers.UUIDField(read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    webhook_id = serializers.CharField(read_only=True, help_text="The webhook-id header of every try")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint_id",
            "webhook_id",
            "url",
            "status",
            "attempts",
            "last_status_code",
            "next_attempt_at",
            "delivered_at",
            "attempt_log",
            "created_at",
        ]
        read_only_fields = fields
