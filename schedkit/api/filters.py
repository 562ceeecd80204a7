"""The filter backend of every list: a filter value must be what the OpenAPI says it is. An
empty value (`?user=`) of a typed filter (an id, a choice, a date, a number) is a 400, as is a
boolean filter given anything but true or false — django-filter would silently ignore both."""

from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

BOOLEAN_VALUES = {"true", "false"}


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        errors = {}
        for name, field in filterset.form.fields.items():
            value = request.query_params.get(name, None)
            if value is None:
                continue
            if isinstance(field, forms.NullBooleanField):
                if value.lower() not in BOOLEAN_VALUES:
                    errors[name] = ["Must be true or false."]
            elif value == "" and type(field) is not forms.CharField:
                errors[name] = ["This filter may not be empty."]
        if errors:
            raise ValidationError(errors)
        return filterset
