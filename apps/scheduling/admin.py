from django.contrib import admin

from apps.scheduling.models import AvailabilityRule, Location, Person, SlotInstance


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
