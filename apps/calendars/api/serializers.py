from rest_framework import serializers

from apps.calendars.models import CalendarConnection, ConnectedCalendar


class ConnectedCalendarSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConnectedCalendar
        fields = ["calendar_id", "summary", "primary", "check_conflicts", "write_target", "busy_synced_at"]
        read_only_fields = fields


class CalendarConnectionSerializer(serializers.ModelSerializer):
    calendars = ConnectedCalendarSerializer(many=True, read_only=True)
    membership_id = serializers.UUIDField(read_only=True)
    # a plain string in the schema: an enum named "status" would collide with the incidents' StatusEnum
    status = serializers.CharField(read_only=True, help_text="pending | active | needs_reconsent | revoked")

    class Meta:
        model = CalendarConnection
        fields = [
            "id",
            "provider",
            "membership_id",
            "account_email",
            "status",
            "scopes",
            "write_entries",
            "last_sync_at",
            "last_error",
            "last_error_at",
            "calendars",
            "created_at",
        ]
        read_only_fields = fields


class CalendarChoiceSerializer(serializers.Serializer):
    calendar_id = serializers.CharField(max_length=255)
    check_conflicts = serializers.BooleanField(required=False)
    write_target = serializers.BooleanField(required=False)


class CalendarConnectionUpdateSerializer(serializers.Serializer):
    calendars = CalendarChoiceSerializer(many=True, required=False)
    write_entries = serializers.BooleanField(required=False)


class SyncAcceptedSerializer(serializers.Serializer):
    status = serializers.CharField()
