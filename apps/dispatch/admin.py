from django.contrib import admin

from apps.dispatch.models import Assignment, Dispatch, DispatchPolicy, EscalationTimer


@admin.register(DispatchPolicy)
class DispatchPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "team", "priority", "repeat", "ack_timeout_seconds", "max_concurrent", "active"]
    list_filter = ["active", "priority", "org"]
    search_fields = ["name", "team__slug"]
    raw_id_fields = ["org", "team"]
    list_select_related = ["org", "team"]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    fields = ["membership", "state", "step_index", "round", "offered_at", "ack_deadline", "acknowledged_at", "score"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class TimerInline(admin.TabularInline):
    model = EscalationTimer
    extra = 0
    fields = ["kind", "due_at", "state", "fired_at", "assignment"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dispatch)
class DispatchAdmin(admin.ModelAdmin):
    list_display = ["incident", "org", "state", "step_index", "round", "started_by", "created_at", "finished_at"]
    list_filter = ["state", "org"]
    search_fields = ["incident__title", "started_by"]
    raw_id_fields = ["org", "incident", "team", "policy"]
    list_select_related = ["incident", "org"]
    inlines = [AssignmentInline, TimerInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["incident", "membership", "state", "offered_at", "ack_deadline", "acknowledged_at", "score"]
    list_filter = ["state", "org"]
    search_fields = ["incident__title", "membership__user__email", "person__name"]
    raw_id_fields = ["org", "dispatch", "incident", "person", "membership"]
    list_select_related = ["incident", "membership__user"]


@admin.register(EscalationTimer)
class EscalationTimerAdmin(admin.ModelAdmin):
    list_display = ["dispatch", "kind", "due_at", "state", "fired_at"]
    list_filter = ["state", "kind"]
    raw_id_fields = ["org", "dispatch", "assignment"]
    date_hierarchy = "due_at"
