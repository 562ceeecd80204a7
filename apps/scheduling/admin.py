from django.contrib import admin

from apps.scheduling.models import (
    AvailabilityRule,
    Location,
    Person,
    ScheduleEntry,
    ScheduleFeed,
    ScheduleOverride,
    SlotInstance,
)


class RuleInline(admin.TabularInline):
    model = AvailabilityRule
    extra = 0
    fields = [
        "person",
        "rule_kind",
        "days_of_week",
        "start_time",
        "end_time",
        "slot_capacity",
        "valid_from",
        "valid_to",
    ]
    raw_id_fields = ["person"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "timezone", "address", "created_at"]
    list_filter = ["timezone"]
    search_fields = ["name", "address", "org__slug"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org"]
    inlines = [RuleInline]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "location", "timezone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "membership__user__email", "membership__user__username"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org", "membership", "location"]


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(admin.ModelAdmin):
    list_display = [
        "rule_kind",
        "location",
        "person",
        "days_of_week",
        "start_time",
        "end_time",
        "valid_from",
        "valid_to",
    ]
    list_filter = ["rule_kind", "is_closed"]
    search_fields = ["location__name", "person__name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org", "location", "person"]


@admin.register(SlotInstance)
class SlotInstanceAdmin(admin.ModelAdmin):
    list_display = ["start_at", "end_at", "location", "person", "capacity", "booked", "hold", "status"]
    list_filter = ["status", "date"]
    search_fields = ["location__name", "person__name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org", "location", "person", "rule"]
    date_hierarchy = "start_at"


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
