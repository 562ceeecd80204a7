from rest_framework import serializers

from apps.events.models import Event


class EventSerializer(serializers.ModelSerializer):
    ts = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "ts", "data"]
