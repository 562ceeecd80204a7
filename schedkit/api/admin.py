from django.contrib import admin

from schedkit.api.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "actor_ref", "state", "response_status", "created_at", "expires_at"]
    list_filter = ["state", "response_status"]
    search_fields = ["key", "actor_ref"]
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_add_permission(self, request):
        return False
