from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.signals.models import Beacon, PushSubscription, Signal
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer

CREATABLE_TYPES = [t for t in Signal.Type.values if t != Signal.Type.BEACON]


class SignalSerializer(StrictModelSerializer):
    type = serializers.ChoiceField(choices=CREATABLE_TYPES)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(required=False, allow_null=True, min_value=0)
    capture = serializers.FileField(
        required=False, write_only=True, help_text="capture only: JPEG, PNG, GIF or WebP (multipart/form-data)"
    )
    capture_url = serializers.SerializerMethodField()
    membership_id = serializers.UUIDField(read_only=True, allow_null=True)
    user_id = serializers.UUIDField(read_only=True, allow_null=True)
    beacon_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Signal
        fields = [
            "id",
            "type",
            "membership_id",
            "user_id",
            "beacon_id",
            "beacon_state",
            "title",
            "text",
            "lat",
            "lng",
            "accuracy_m",
            "data",
            "capture",
            "capture_url",
            "capture_content_type",
            "capture_size",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "membership_id",
            "user_id",
            "beacon_id",
            "beacon_state",
            "capture_content_type",
            "capture_size",
            "created_at",
        ]
        extra_kwargs = {"title": {"required": False}, "text": {"required": False}}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_capture_url(self, signal) -> str | None:
        return f"/v1/signals/{signal.pk}/capture" if signal.capture else None

    def validate_data(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("data is a JSON object.")
        if len(str(value)) > 4000:
            raise serializers.ValidationError("data is at most 4000 characters.")
        return value


class SignalReadSerializer(SignalSerializer):
    type = serializers.CharField(read_only=True)


class BeaconPingSerializer(StrictSerializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(required=False, allow_null=True, min_value=0)
    heading = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=360)
    speed = serializers.FloatField(required=False, allow_null=True, min_value=0)


class LivePositionSerializer(serializers.Serializer):
    beacon_id = serializers.UUIDField()
    membership_id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    name = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    accuracy_m = serializers.FloatField(allow_null=True)
    heading = serializers.FloatField(allow_null=True)
    speed = serializers.FloatField(allow_null=True)
    ts = serializers.DateTimeField()
    started = serializers.BooleanField(required=False, help_text="This ping started the beacon (beacon_on)")


class BeaconSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    membership_id = serializers.UUIDField(read_only=True)
    user_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Beacon
        fields = [
            "id",
            "membership_id",
            "user_id",
            "name",
            "started_at",
            "stopped_at",
            "stop_reason",
            "lat",
            "lng",
            "position",
        ]

    def get_name(self, beacon) -> str:
        user = beacon.user
        return (user.name or user.email) if user else ""

    @extend_schema_field(LivePositionSerializer(allow_null=True))
    def get_position(self, beacon):
        return self.context.get("positions", {}).get(beacon.pk)


class PushKeysSerializer(StrictSerializer):
    p256dh = serializers.RegexField(r"^[A-Za-z0-9_\-=]{40,200}$")
    auth = serializers.RegexField(r"^[A-Za-z0-9_\-=]{8,100}$")


class PushSubscriptionSerializer(StrictModelSerializer):
    """The browser's PushSubscription.toJSON(): {endpoint, keys: {p256dh, auth}}."""

    keys = PushKeysSerializer(write_only=True)
    user_id = serializers.UUIDField(read_only=True)
    endpoint = serializers.URLField(max_length=1000)
    expirationTime = serializers.IntegerField(required=False, allow_null=True, write_only=True)  # noqa: N815

    class Meta:
        model = PushSubscription
        fields = ["id", "user_id", "endpoint", "keys", "expirationTime", "user_agent", "last_success_at", "created_at"]
        read_only_fields = ["id", "user_id", "user_agent", "last_success_at", "created_at"]

    def validate_endpoint(self, value):
        if not value.startswith(("https://", "http://")):
            raise serializers.ValidationError("The endpoint is an http(s) URL.")
        return value


class VapidKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(allow_blank=True, help_text="applicationServerKey for pushManager.subscribe()")
