from django.contrib import admin

from apps.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "org", "created_at", "dispatched_at"]
    list_filter = ["type", ("dispatched_at", admin.EmptyFieldListFilter), "org"]
    search_fields = ["type", "id"]
    readonly_fields = ["id", "org", "type", "data", "created_at", "updated_at", "dispatched_at"]
    list_select_related = ["org"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # events come from services, never by hand
