"""The incident list's filters, shared by the API and the board page."""

from django_filters import rest_framework as filters

from apps.incidents.models import Incident, Priority, Source, Status
from schedkit.api.filters import StrictFilterSet


class _CsvChoiceFilter(filters.BaseInFilter, filters.ChoiceFilter):
    pass


class IncidentFilter(StrictFilterSet):
    status = _CsvChoiceFilter(choices=Status.choices, help_text="One or more, comma-separated: open,in_progress")
    priority = _CsvChoiceFilter(choices=Priority.choices, help_text="One or more, comma-separated")
    source = filters.ChoiceFilter(choices=Source.choices)
    assignee = filters.UUIDFilter(field_name="assignees", help_text="Membership id of an assignee")
    sla_breached = filters.BooleanFilter()

    class Meta:
        model = Incident
        fields = ["status", "priority", "source", "assignee", "sla_breached"]
