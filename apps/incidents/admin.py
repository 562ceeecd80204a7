from django.contrib import admin

from apps.incidents.models import Activity, Incident, IntakeEndpoint


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ["at", "actor_label", "verb", "field", "old", "new"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "org", "status", "priority", "source", "sla_due_at", "sla_breached", "created_at"]
    list_filter = ["status", "priority", "source", "sla_breached", "org"]
    search_fields = ["title", "description", "location_name", "fingerprint", "reporter_email"]
    readonly_fields = ["customer_token", "reply_token", "created_at", "updated_at", "resolved_at"]
    raw_id_fields = ["org"]
    filter_horizontal = ["assignees"]
    inlines = [ActivityInline]
    list_select_related = ["org"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["at", "incident", "actor_label", "verb", "field", "new"]
    list_filter = ["verb"]
    search_fields = ["actor_label", "new", "incident__title"]
    raw_id_fields = ["org", "incident", "actor"]
    list_select_related = ["incident"]


@admin.register(IntakeEndpoint)
class IntakeEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "token_prefix", "default_priority", "active", "last_used_at"]
    list_filter = ["active", "default_priority"]
    search_fields = ["name", "token_prefix"]
    readonly_fields = ["token_hash", "token_prefix", "last_used_at"]
    raw_id_fields = ["org"]
