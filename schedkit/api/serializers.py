from django.db import models
from rest_framework import serializers

from schedkit.api.fields import BoundedDateField, BoundedDateTimeField


class StrictMixin:
    """Unknown fields are an error, not silently dropped (SPEC §2 Errors)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictMixin, serializers.ModelSerializer):
    # Model dates are written through the bounded fields (schedkit.api.fields).
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: BoundedDateTimeField,
        models.DateField: BoundedDateField,
    }


class ProblemSerializer(serializers.Serializer):
    """Documentation of the RFC 9457 error body."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine-readable error code")
    detail = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField(), required=False)
