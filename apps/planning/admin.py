from django.contrib import admin

from apps.planning.models import (
    DailySchedule,
    OptimizationRun,
    ScheduleAssignment,
    ScheduleConflict,
    ScheduleRequest,
    WorkRequirement,
)

WORK_ITEM = ["entry", "booking", "incident"]


class AssignmentInline(admin.TabularInline):
    model = ScheduleAssignment
    extra = 0
    fields = ["person", *WORK_ITEM, "entry_instance", "start", "end", "location", "pinned"]
    raw_id_fields = ["person", *WORK_ITEM, "location"]


class ConflictInline(admin.TabularInline):
    model = ScheduleConflict
    extra = 0
    fields = ["type", "work_ref", "region", "details", "resolved", "resolution"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DailySchedule)
class DailyScheduleAdmin(admin.ModelAdmin):
    list_display = ["date", "org", "team", "rev", "status", "published_at", "updated_at"]
    list_filter = ["status", "org"]
    date_hierarchy = "date"
    search_fields = ["org__slug", "team__slug"]
    # rev is the optimistic lock: edits go through the API (If-Match), never around it
    readonly_fields = ["rev", "published_at", "published_rev", "written_entry_ids", "updated_by"]
    raw_id_fields = ["org", "team"]
    inlines = [AssignmentInline, ConflictInline]
    list_select_related = ["org", "team"]


@admin.register(ScheduleAssignment)
class ScheduleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["schedule", "person", "start", "end", "pinned", "org"]
    list_filter = ["pinned", "org"]
    raw_id_fields = ["org", "schedule", "person", *WORK_ITEM, "location"]
    list_select_related = ["schedule", "person", "org"]


@admin.register(WorkRequirement)
class WorkRequirementAdmin(admin.ModelAdmin):
    list_display = ["__str__", "org", "priority", "duration_minutes", "skills"]
    list_filter = ["org"]
    raw_id_fields = ["org", *WORK_ITEM, "location"]


class RunInline(admin.TabularInline):
    model = OptimizationRun
    extra = 0
    fields = ["algorithm", "status", "duration_ms", "score", "started_at", "completed_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ScheduleRequest)
class ScheduleRequestAdmin(admin.ModelAdmin):
    list_display = ["date", "org", "status", "progress", "source", "requested_by_label", "created_at"]
    list_filter = ["status", "source", "org"]
    search_fields = ["requested_by_label", "trigger", "error"]
    readonly_fields = ["result", "error", "started_at", "completed_at", "applied_at", "progress"]
    raw_id_fields = ["org", "team", "schedule", "requested_by"]
    inlines = [RunInline]


@admin.register(OptimizationRun)
class OptimizationRunAdmin(admin.ModelAdmin):
    list_display = ["date", "org", "algorithm", "status", "duration_ms", "score", "started_at"]
    list_filter = ["algorithm", "status", "org"]
    readonly_fields = ["stats"]
    raw_id_fields = ["org", "request"]


@admin.register(ScheduleConflict)
class ScheduleConflictAdmin(admin.ModelAdmin):
    list_display = ["type", "work_ref", "schedule", "region", "resolved", "resolution", "created_at"]
    list_filter = ["type", "resolved", "resolution", "org"]
    search_fields = ["work_ref", "region"]
    raw_id_fields = ["org", "schedule", "run"]
