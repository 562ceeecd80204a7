from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.incidents import clock
from apps.incidents.models import Activity, Incident, IntakeEndpoint, Priority, SlaStatus, Status
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer
from schedkit.api.throttling import RATE_PATTERN, validate_rate


def skills_field(**kwargs):
    return serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=50, help_text="Skills a responder needs", **kwargs
    )


def _dt(value):
    """What DRF's DateTimeField renders under USE_TZ with UTC (…Z), without its per-call
    timezone machinery: a page has 200 of these."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class AssigneeSerializer(serializers.Serializer):
    membership_id = serializers.UUIDField(read_only=True)
    user_id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)


class IncidentSerializer(StrictModelSerializer):
    sla_status = serializers.ChoiceField(choices=SlaStatus.choices, read_only=True)
    reporter_email = serializers.CharField(read_only=True, help_text="Who reported it by email, or empty")
    allowed_transitions = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Statuses this incident may move to now"
    )
    assignees = AssigneeSerializer(many=True, read_only=True)
    assignee_ids = serializers.ListField(
        child=serializers.UUIDField(), write_only=True, required=False, help_text="Membership ids"
    )
    required_skills = skills_field(required=False)

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "description",
            "status",
            "priority",
            "source",
            "sla_due_at",
            "sla_breached",
            "sla_status",
            "allowed_transitions",
            "lat",
            "lng",
            "location_name",
            "customer_token",
            "assignees",
            "assignee_ids",
            "signal_id",
            "fingerprint",
            "reporter_email",
            "required_skills",
            "resolved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "sla_due_at",
            "sla_breached",
            "customer_token",
            "signal_id",
            "fingerprint",
            "reporter_email",
            "resolved_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"lat": {"min_value": -90, "max_value": 90}, "lng": {"min_value": -180, "max_value": 180}}

    def to_representation(self, incident):
        # Hand-written: the board polls 50 of these per page; tests/incidents/test_api.py
        # checks it renders exactly the declared fields.
        now = clock.now()
        return {
            "id": str(incident.id),
            "title": incident.title,
            "description": incident.description,
            "status": incident.status,
            "priority": incident.priority,
            "source": incident.source,
            "sla_due_at": _dt(incident.sla_due_at),
            "sla_breached": incident.sla_breached,
            "sla_status": incident.sla_status_at(now),
            "allowed_transitions": list(incident.allowed_transitions()),
            "lat": incident.lat,
            "lng": incident.lng,
            "location_name": incident.location_name,
            "customer_token": incident.customer_token,
            "assignees": [
                {
                    "membership_id": str(m.id),
                    "user_id": str(m.user.id),
                    "email": m.user.email,
                    "name": m.user.name,
                }
                for m in incident.assignee_list
            ],
            "signal_id": str(incident.signal_id) if incident.signal_id else None,
            "fingerprint": incident.fingerprint,
            "reporter_email": incident.reporter_email,
            "required_skills": list(incident.required_skills or []),
            "resolved_at": _dt(incident.resolved_at),
            "created_at": _dt(incident.created_at),
            "updated_at": _dt(incident.updated_at),
        }


class IncidentUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    location_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    required_skills = skills_field(required=False)
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="Moves through the status machine like /transition (an illegal move is 409 ILLEGAL_TRANSITION)",
    )
    assignee_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="One assignee (membership id) replacing the set; null clears it"
    )
    assignee_ids = serializers.ListField(
        child=serializers.UUIDField(), max_length=20, required=False, help_text="The assignee set (membership ids)"
    )

    def validate(self, attrs):
        if "assignee_id" in attrs and "assignee_ids" in attrs:
            raise serializers.ValidationError({"assignee_id": "Give assignee_id or assignee_ids, not both."})
        return attrs


class TransitionSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AssignSerializer(StrictSerializer):
    assignee_ids = serializers.ListField(child=serializers.UUIDField(), max_length=20, help_text="Membership ids")


class CommentSerializer(StrictSerializer):
    body = serializers.CharField(max_length=20_000)


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = ["id", "actor_label", "verb", "field", "old", "new", "at"]


class PublicStatusSerializer(serializers.ModelSerializer):
    """What a customer may see: no description, assignees, coordinates or tokens."""

    sla_status = serializers.ChoiceField(choices=SlaStatus.choices, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "title",
            "status",
            "priority",
            "sla_status",
            "location_name",
            "created_at",
            "updated_at",
            "resolved_at",
        ]


@extend_schema_field({"type": "string", "maxLength": 20, "pattern": RATE_PATTERN})
class RateLimitField(serializers.CharField):
    """A rate such as "600/min" ("" = the default), documented by its pattern."""


class IntakeEndpointSerializer(StrictModelSerializer):
    rate_limit = RateLimitField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        validators=[validate_rate],
        help_text='Requests per token, e.g. "600/min" or "100/15min"; empty: the THROTTLE_INTAKE default',
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, source="default_priority", default=Priority.NORMAL, help_text="For generic alerts"
    )

    class Meta:
        model = IntakeEndpoint
        fields = [
            "id",
            "name",
            "priority",
            "rate_limit",
            "token_prefix",
            "active",
            "last_used_at",
            "created_at",
        ]
        read_only_fields = ["id", "token_prefix", "active", "last_used_at", "created_at"]


class IntakeEndpointCreatedSerializer(IntakeEndpointSerializer):
    """The create response: the endpoint plus its token and URL, shown this once."""

    token = serializers.CharField(read_only=True, help_text="Shown once, on create")
    url = serializers.CharField(read_only=True, help_text="Shown once, on create")

    class Meta(IntakeEndpointSerializer.Meta):
        fields = [*IntakeEndpointSerializer.Meta.fields, "token", "url"]


class GenericIntakeSerializer(StrictSerializer):
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    fingerprint = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    required_skills = skills_field(required=False, default=list)


class IntakeResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    action = serializers.ChoiceField(choices=["created", "appended", "resolved", "ignored"])
    fingerprint = serializers.CharField()
