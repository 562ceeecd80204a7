"""Incident reads that cross the tenant line: always through for_actor()."""

from types import SimpleNamespace

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from rest_framework.exceptions import ValidationError

from apps.incidents.filters import IncidentFilter
from apps.incidents.models import Activity, Incident
from apps.orgs.models import Membership

_ASSIGNEE_ROWS = Membership.objects.select_related("user").only(
    "id", "org_id", "role", "active", "user__id", "user__email", "user__name", "user__username"
)
ASSIGNEES = Prefetch("assignees", queryset=_ASSIGNEE_ROWS)
# For hot lists: a plain list attribute, no related manager per incident.
ASSIGNEES_LIST = Prefetch("assignees", queryset=_ASSIGNEE_ROWS, to_attr="prefetched_assignees")


def incident_list(*, fetched_by, filters=None) -> QuerySet[Incident]:
    queryset = Incident.objects.for_actor(fetched_by, "list").prefetch_related(ASSIGNEES_LIST)
    if filters:
        filterset = IncidentFilter(data=filters, queryset=queryset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return queryset


def recent_places(*, fetched_by, limit: int = 50) -> list[tuple[float, float]]:
    """Where the org's latest located incidents were (lat, lng): what a new pin's map frames."""
    rows = (
        Incident.objects.for_actor(fetched_by, "list")
        .filter(lat__isnull=False, lng__isnull=False)
        .order_by("-created_at")
        .values_list("lat", "lng")[:limit]
    )
    return list(rows)


def attach_assignee_rows(incidents: list[Incident]) -> list[Incident]:
    """The assignees of a page of incidents in one query of plain rows (no Membership or
    User instances: on a list page those were half of the time, bench/README.md), as the
    `assignee_list` the serializers read: objects with .id, .pk and .user.id/.email/.name."""
    ids = [incident.pk for incident in incidents]
    rows = Incident.assignees.through.objects.filter(incident_id__in=ids).order_by("-membership_id")  # as Membership
    by_incident: dict = {pk: [] for pk in ids}
    for incident_id, membership_id, user_id, email, name in rows.values_list(
        "incident_id", "membership_id", "membership__user_id", "membership__user__email", "membership__user__name"
    ):
        user = SimpleNamespace(id=user_id, pk=user_id, email=email, name=name)
        by_incident[incident_id].append(SimpleNamespace(id=membership_id, pk=membership_id, user=user))
    for incident in incidents:
        incident.prefetched_assignees = by_incident[incident.pk]
    return incidents


def incident_search(queryset: QuerySet[Incident], text: str) -> QuerySet[Incident]:
    """Narrow an incident list to those whose title, description or place mention `text`."""
    text = (text or "").strip()[:200]
    if not text:
        return queryset
    return queryset.filter(Q(title__icontains=text) | Q(description__icontains=text) | Q(location_name__icontains=text))


def access_incident(actor, incident_id) -> Incident:
    return Incident.objects.select_related("org").prefetch_related(ASSIGNEES).access(actor, incident_id, "retrieve")


def incident_activity(*, incident: Incident) -> QuerySet[Activity]:
    return Activity.objects.filter(incident=incident).select_related("actor").order_by("-id")


def incident_by_customer_token(token: str) -> Incident:
    incident = Incident.objects.filter(customer_token=token).first() if token and len(token) <= 64 else None
    if incident is None:
        raise Http404
    return incident


def org_members(*, org) -> QuerySet[Membership]:
    """Every membership, past ones too: activity lines name people who have since left."""
    return Membership.objects.filter(org=org).select_related("user")


def assignable_members(*, org) -> QuerySet[Membership]:
    return Membership.objects.filter(org=org, active=True).select_related("user").order_by("user__email")
