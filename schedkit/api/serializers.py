from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from schedkit.api.fields import BoundedDateField, BoundedDateTimeField
from schedkit.api.parsers import JSONObject


def _json_type_error(field, value) -> str | None:
    """JSON bodies are typed: a string field takes a string, not 0 or true (DRF would coerce),
    a number field a number, a boolean field a boolean — what the OpenAPI says, no more."""
    if value is None:
        return None  # allow_null is DRF's own check
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:  # a list of strings takes strings, not [0]
            message = _json_type_error(field.child, item)
            if message:
                return f"Every item: {message[0].lower()}{message[1:]}"
        return None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return "Not a valid string."
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be true or false."
    if isinstance(field, serializers.IntegerField) and (isinstance(value, bool) or not isinstance(value, int)):
        return "A valid integer is required."
    if isinstance(field, serializers.FloatField) and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "A valid number is required."
    return None


class StrictMixin:
    """Unknown fields are an error, not silently dropped (SPEC §2 Errors); in JSON bodies a
    value must have its field's JSON type (form and multipart data are strings by nature and
    keep DRF's parsing)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
            if isinstance(data, JSONObject):
                wrong = {}
                for name, value in data.items():
                    message = _json_type_error(self.fields[name], value)
                    if message:
                        wrong[name] = [message]
                if wrong:  # reported together with every other field's errors
                    try:
                        super().to_internal_value({k: v for k, v in data.items() if k not in wrong})
                    except serializers.ValidationError as exc:
                        if isinstance(exc.detail, dict):
                            raise serializers.ValidationError({**exc.detail, **wrong}) from None
                    raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class StrictSerializer(StrictMixin, serializers.Serializer):
    pass


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """A model JSONField as the API takes it: a JSON object (never null, a list or a scalar)."""

    default_error_messages = {"object": "Must be a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("object")
        return super().to_internal_value(data)


class StrictModelSerializer(StrictMixin, serializers.ModelSerializer):
    # Model dates are written through the bounded fields (schedkit.api.fields).
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: BoundedDateTimeField,
        models.DateField: BoundedDateField,
    }

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, models.JSONField) and model_field.default is dict:
            field_class = JSONObjectField  # an object-valued JSON column takes objects only
        return field_class, field_kwargs


class ProblemSerializer(serializers.Serializer):
    """Documentation of the RFC 9457 error body."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable machine-readable error code")
    detail = serializers.CharField()
    errors = serializers.ListField(child=serializers.DictField(), required=False)
