"""Filters take what the OpenAPI says they take. An empty value (`?user=`) of a typed filter
(an id, a choice, a date, a number) is an error, as is a boolean filter given anything but
true or false — django-filter would silently ignore both. `StrictFilterSet` carries the rule
(for FilterSets used directly, e.g. by selectors); `StrictFilterBackend` applies it to every
list's auto-generated or declared FilterSet."""

from django import forms
from django_filters import rest_framework as filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

BOOLEAN_VALUES = {"true", "false"}


def strict_errors(filterset) -> dict:
    errors = {}
    data = filterset.data if filterset.data is not None else {}
    for name, field in filterset.form.fields.items():
        value = data.get(name, None)
        if value is None:
            continue
        if isinstance(field, forms.NullBooleanField):
            if str(value).lower() not in BOOLEAN_VALUES:
                errors[name] = "Must be true or false."
        elif value == "" and type(field) is not forms.CharField:
            errors[name] = "This filter may not be empty."
    return errors


class StrictFilterSet(filters.FilterSet):
    def is_valid(self):
        valid = super().is_valid()
        for name, message in strict_errors(self).items():
            self.form.add_error(name, message)
            valid = False
        return valid


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None and not isinstance(filterset, StrictFilterSet):
            errors = strict_errors(filterset)
            if errors:
                raise ValidationError({name: [message] for name, message in errors.items()})
        return filterset
