from rest_framework import serializers

from apps.orgs.models import validate_timezone
from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance
from schedkit.api.fields import BoundedDateField
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer


def _tz(value):
    from django.core.exceptions import ValidationError

    try:
        validate_timezone(value)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None
    return value


class LocationSerializer(StrictModelSerializer):
    timezone = serializers.CharField(max_length=64, required=False, validators=[_tz])

    class Meta:
        model = Location
        fields = ["id", "name", "timezone", "address", "lat", "lng", "created_at"]
        read_only_fields = ["id", "created_at"]


class PersonSerializer(StrictModelSerializer):
    membership_id = serializers.UUIDField()
    location_id = serializers.UUIDField(required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    skills = serializers.ListField(source="membership.skills", read_only=True)
    username = serializers.CharField(source="membership.user.username", read_only=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "membership_id",
            "username",
            "location_id",
            "name",
            "timezone",
            "skills",
            "home_lat",
            "home_lng",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_timezone(self, value):
        return _tz(value) if value else value


class PersonUpdateSerializer(PersonSerializer):
    membership_id = serializers.UUIDField(read_only=True)


class AvailabilityRuleSerializer(StrictModelSerializer):
    location_id = serializers.UUIDField()
    person_id = serializers.UUIDField(required=False, allow_null=True)
    days_of_week = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), required=False)

    class Meta:
        model = AvailabilityRule
        fields = [
            "id",
            "location_id",
            "person_id",
            "rule_kind",
            "days_of_week",
            "start_time",
            "end_time",
            "slot_capacity",
            "slot_granularity_minutes",
            "slot_duration_minutes",
            "valid_from",
            "valid_to",
            "is_closed",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class SlotSerializer(serializers.ModelSerializer):
    remaining = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="open, partial, full, blocked")
    location_id = serializers.UUIDField(read_only=True)
    person_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = SlotInstance
        fields = [
            "id",
            "location_id",
            "person_id",
            "date",
            "start_at",
            "end_at",
            "capacity",
            "booked",
            "hold",
            "remaining",
            "status",
        ]
        read_only_fields = fields


class SlotGenerateSerializer(StrictSerializer):
    location_id = serializers.UUIDField()
    person_id = serializers.UUIDField(required=False, allow_null=True)
    date_from = BoundedDateField()
    date_to = BoundedDateField()


class SlotGenerateResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    removed = serializers.IntegerField()
    kept_booked = serializers.IntegerField()
