from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.planning.models import ConflictType, DailySchedule, OptimizationRun, ScheduleConflict, ScheduleRequest
from apps.planning.solver import ALGORITHMS
from schedkit.api.serializers import StrictSerializer


class WorkItemSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=["entry", "booking", "incident"])
    id = serializers.CharField(max_length=80, help_text="Entry id (or series instance id), booking id, incident id")


class AssignmentInputSerializer(StrictSerializer):
    person_id = serializers.UUIDField(help_text="A scheduling person (GET /admin/v1/people)")
    work_item = WorkItemSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    location_id = serializers.UUIDField(required=False, allow_null=True)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    lng = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    pinned = serializers.BooleanField(default=False, help_text="Kept as is by the optimizer")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "End must be after start."})
        if (attrs.get("lat") is None) != (attrs.get("lng") is None):
            raise serializers.ValidationError({"lat": "Give both lat and lng, or neither."})
        return attrs


class AssignmentListInputSerializer(StrictSerializer):
    assignments = AssignmentInputSerializer(many=True, max_length=2000)


class ScheduleAssignmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    person_id = serializers.UUIDField()
    person_name = serializers.CharField(source="person.__str__")
    work_item = serializers.SerializerMethodField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    location_id = serializers.UUIDField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    lng = serializers.FloatField(allow_null=True)
    pinned = serializers.BooleanField()

    def get_work_item(self, obj) -> dict:
        return {"type": obj.work_kind, "id": obj.work_id}


class DailyScheduleCreateSerializer(StrictSerializer):
    date = serializers.DateField()
    team = serializers.SlugField(required=False, allow_null=True, help_text="Team slug; absent = the whole org")


class DailyScheduleSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    assignments = ScheduleAssignmentSerializer(many=True, read_only=True)
    open_conflicts = serializers.SerializerMethodField()

    class Meta:
        model = DailySchedule
        fields = [
            "id",
            "date",
            "team",
            "rev",
            "status",
            "published_at",
            "published_rev",
            "updated_by",
            "assignments",
            "open_conflicts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_open_conflicts(self, obj) -> int:
        return sum(1 for c in obj.conflicts.all() if not c.resolved)


class WeightsSerializer(StrictSerializer):
    travel = serializers.FloatField(default=1.0, min_value=0, max_value=100, help_text="Minimise travel time")
    balance = serializers.FloatField(default=1.0, min_value=0, max_value=100, help_text="Even out worked minutes")
    priority = serializers.FloatField(
        default=1.0, min_value=0.01, max_value=100, help_text="Weight of assigning high-priority demand first"
    )


class PinnedSerializer(StrictSerializer):
    work_item = WorkItemSerializer()
    person_id = serializers.UUIDField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "End must be after start."})
        return attrs


class ConstraintsSerializer(StrictSerializer):
    """What a schedule request or a synchronous optimization may say about the day."""

    team = serializers.SlugField(required=False, allow_null=True, help_text="Plan one team's people and schedule")
    people = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=1000, help_text="Only these people (person ids)"
    )
    time_limit_ms = serializers.IntegerField(default=5000, min_value=100, max_value=60_000)
    algorithm = serializers.ChoiceField(choices=ALGORITHMS, default="routing")
    weights = WeightsSerializer(required=False)
    pinned = PinnedSerializer(many=True, required=False, max_length=2000, help_text="Assignments to keep as given")


class ScheduleRequestCreateSerializer(StrictSerializer):
    date = serializers.DateField()
    constraints = ConstraintsSerializer(required=False)


class ProposedAssignmentSerializer(serializers.Serializer):
    person_id = serializers.UUIDField()
    person_name = serializers.CharField()
    work_item = WorkItemSerializer()
    title = serializers.CharField()
    region = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    pinned = serializers.BooleanField()


class UnassignedSerializer(serializers.Serializer):
    work_item = WorkItemSerializer()
    title = serializers.CharField()
    region = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=["skill_missing", "outside_availability", "over_capacity", "travel_infeasible"]
    )
    detail = serializers.CharField()


class ProposalSerializer(serializers.Serializer):
    run_id = serializers.UUIDField()
    schedule_id = serializers.UUIDField(allow_null=True)
    base_rev = serializers.IntegerField(allow_null=True, help_text="The schedule rev the proposal applies to")
    algorithm = serializers.CharField()
    status = serializers.CharField()
    score = serializers.FloatField(help_text="Share of priority-weighted demand assigned, 0–100")
    duration_ms = serializers.IntegerField()
    first_solution_ms = serializers.IntegerField()
    travel_minutes = serializers.IntegerField()
    travel_km = serializers.FloatField()
    balance_minutes = serializers.FloatField(help_text="Standard deviation of worked minutes")
    people = serializers.IntegerField()
    demands = serializers.IntegerField()
    assignments = ProposedAssignmentSerializer(many=True)
    unassigned = UnassignedSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())


@extend_schema_field(ProposalSerializer(allow_null=True))
class ProposalField(serializers.JSONField):
    """The stored proposal as the job wrote it (documented as ProposalSerializer)."""


class ScheduleRequestSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    result = ProposalField(read_only=True, allow_null=True)

    class Meta:
        model = ScheduleRequest
        fields = [
            "id",
            "date",
            "team",
            "status",
            "progress",
            "constraints",
            "result",
            "error",
            "source",
            "trigger",
            "requested_by_label",
            "schedule_id",
            "base_rev",
            "created_at",
            "started_at",
            "completed_at",
            "applied_at",
        ]
        read_only_fields = fields


class OptimizationRunSerializer(serializers.ModelSerializer):
    score = serializers.FloatField(allow_null=True)

    class Meta:
        model = OptimizationRun
        fields = [
            "id",
            "request_id",
            "date",
            "algorithm",
            "duration_ms",
            "score",
            "status",
            "started_at",
            "completed_at",
            "stats",
        ]
        read_only_fields = fields


class ScheduleConflictSerializer(serializers.ModelSerializer):
    date = serializers.DateField(source="schedule.date")
    status = serializers.CharField()
    detected_at = serializers.DateTimeField(source="created_at")
    work_item = serializers.SerializerMethodField()
    type = serializers.ChoiceField(choices=ConflictType.choices)

    class Meta:
        model = ScheduleConflict
        fields = [
            "id",
            "schedule_id",
            "date",
            "run_id",
            "type",
            "work_item",
            "region",
            "details",
            "resolved",
            "status",
            "resolution",
            "resolved_at",
            "resolved_by",
            "detected_at",
        ]
        read_only_fields = fields

    def get_work_item(self, obj) -> dict | None:
        if not obj.work_ref:
            return None
        kind, _, ident = obj.work_ref.partition(":")
        return {"type": kind, "id": ident}


class ResolveSerializer(StrictSerializer):
    conflict_id = serializers.UUIDField()
    resolution = serializers.ChoiceField(choices=ScheduleConflict.Resolution.choices)
    person_id = serializers.UUIDField(required=False, help_text="reassign: the new person")
    start = serializers.DateTimeField(required=False, help_text="reschedule (or reassign): the new start")
    end = serializers.DateTimeField(required=False, help_text="default: start + the work's duration")


class ResolveResultSerializer(serializers.Serializer):
    conflict = ScheduleConflictSerializer()
    schedule = DailyScheduleSerializer()
    open_conflicts = ScheduleConflictSerializer(many=True)


class WorkRequirementSerializer(StrictSerializer):
    id = serializers.UUIDField(read_only=True)
    work_item = WorkItemSerializer()
    skills = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50, help_text="Every one needed"
    )
    priority = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=4)
    duration_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=5, max_value=24 * 60)
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    location_id = serializers.UUIDField(required=False, allow_null=True, help_text="The work site")

    def to_representation(self, obj):
        return {
            "id": obj.pk,
            "work_item": {"type": obj.work_kind, "id": obj.work_id},
            "skills": obj.skills,
            "priority": obj.priority,
            "duration_minutes": obj.duration_minutes,
            "window_start": obj.window_start,
            "window_end": obj.window_end,
            "location_id": obj.location_id,
        }
