"""The filter backend of every list: a declared filter given an empty value (`?user=`) is a
400, not silently ignored — the OpenAPI types each filter, and "" is none of them."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            empty = [name for name in filterset.form.fields if request.query_params.get(name, None) == ""]
            if empty:
                raise ValidationError({name: ["This filter may not be empty."] for name in empty})
        return filterset
