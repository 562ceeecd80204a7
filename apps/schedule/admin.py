from django.contrib import admin

from apps.schedule.models import ScheduleEntry, ScheduleFeed, ScheduleOverride


class OverrideInline(admin.TabularInline):
    model = ScheduleOverride
    extra = 0
    fields = ["original_start", "cancelled", "title", "start", "end", "status"]
    ordering = ["original_start"]
    show_change_link = True


@admin.register(ScheduleEntry)
class ScheduleEntryAdmin(admin.ModelAdmin):
    list_display = ["title", "org", "start", "end", "timezone", "status", "rrule", "private"]
    list_filter = ["status", "private", "org"]
    search_fields = ["title", "notes", "work_item_ref", "ical_uid"]
    readonly_fields = ["series_end", "created_at", "updated_at"]
    raw_id_fields = ["org", "incident", "split_from", "created_by"]
    filter_horizontal = ["assignees"]
    inlines = [OverrideInline]
    list_select_related = ["org"]
    date_hierarchy = "start"


@admin.register(ScheduleOverride)
class ScheduleOverrideAdmin(admin.ModelAdmin):
    list_display = ["master", "original_start", "cancelled", "start", "end", "status"]
    list_filter = ["cancelled"]
    search_fields = ["title", "master__title"]
    raw_id_fields = ["org", "master"]
    filter_horizontal = ["assignees"]
    list_select_related = ["master"]


@admin.register(ScheduleFeed)
class ScheduleFeedAdmin(admin.ModelAdmin):
    list_display = ["id", "org", "membership", "team", "created_at", "revoked_at"]
    readonly_fields = ["token_hash", "created_at"]
    raw_id_fields = ["org", "membership", "team", "created_by"]
    list_select_related = ["org"]
