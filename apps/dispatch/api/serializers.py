from rest_framework import serializers

from apps.dispatch.models import Assignment, Dispatch, DispatchPolicy, ResponderStatus, validate_steps
from apps.orgs.models import Team
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer


class DispatchRequestSerializer(StrictSerializer):
    dry_run = serializers.BooleanField(required=False, default=False)
    team = serializers.CharField(required=False, allow_null=True, max_length=100, help_text="Team slug or id")
    person_id = serializers.UUIDField(required=False, help_text="Offer this candidate first (a dispatcher's pick)")


class AssignmentSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    user_id = serializers.UUIDField(source="membership.user_id", read_only=True)
    schedule_entry_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "incident",
            "dispatch",
            "person",
            "membership",
            "user_id",
            "name",
            "state",
            "step_index",
            "round",
            "offered_at",
            "ack_deadline",
            "acknowledged_at",
            "finished_at",
            "score",
            "score_parts",
            "schedule_entry_id",
            "note",
        ]
        read_only_fields = fields

    def get_name(self, obj) -> str:
        user = obj.membership.user
        return obj.person.name or user.name or user.email


class DispatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dispatch
        fields = [
            "id",
            "incident",
            "team",
            "state",
            "step_index",
            "round",
            "policy_snapshot",
            "started_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class CandidateSerializer(serializers.Serializer):
    person_id = serializers.UUIDField()
    membership_id = serializers.UUIDField()
    name = serializers.CharField()
    eligible = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True, help_text="Minutes-equivalent cost: lower is better")
    parts = serializers.DictField()
    excluded = serializers.ListField(
        child=serializers.ChoiceField(choices=["off_duty", "missing_skill", "busy", "no_position"])
    )
    missing_skills = serializers.ListField(child=serializers.CharField())
    position = serializers.DictField(allow_null=True)
    position_source = serializers.CharField(allow_null=True)


class DispatchResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    incident_id = serializers.UUIDField()
    policy = serializers.DictField()
    dispatch = DispatchSerializer(allow_null=True)
    offered = AssignmentSerializer(many=True)
    candidates = CandidateSerializer(many=True)


class DispatchStateSerializer(serializers.Serializer):
    dispatch = DispatchSerializer(allow_null=True)
    assignments = AssignmentSerializer(many=True)


class DeclineSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class StatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=ResponderStatus.choices)


class LinkActionSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class DispatchPolicySerializer(StrictModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.none(), required=False, allow_null=True
    )
    steps = serializers.JSONField(required=False, validators=[validate_steps])

    class Meta:
        model = DispatchPolicy
        fields = [
            "id",
            "name",
            "team",
            "priority",
            "steps",
            "repeat",
            "ack_timeout_seconds",
            "max_concurrent",
            "travel_speed_kmh",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "repeat": {"min_value": 1, "max_value": 20},
            "ack_timeout_seconds": {"min_value": 1, "max_value": 86400},
            "max_concurrent": {"min_value": 1, "max_value": 50},
            "travel_speed_kmh": {"min_value": 1, "max_value": 2000},
        }

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        if org is not None:
            self.fields["team"].queryset = Team.objects.filter(org=org)
