from django.contrib import admin
from django.db import models

from apps.signals.models import Beacon, PushSubscription, Signal


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "beacon_state", "org", "user", "title", "lat", "lng", "created_at"]
    list_filter = ["type", "beacon_state", "org"]
    search_fields = ["title", "text", "user__email", "org__slug"]
    list_select_related = ["org", "user"]
    readonly_fields = ["id", "created_at", "updated_at", "capture_content_type", "capture_size"]
    raw_id_fields = ["membership", "user", "beacon"]
    date_hierarchy = "created_at"


class BeaconSignalInline(admin.TabularInline):
    model = Signal
    fk_name = "beacon"
    extra = 0
    fields = ["beacon_state", "lat", "lng", "data", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Beacon)
class BeaconAdmin(admin.ModelAdmin):
    list_display = ["id", "org", "user", "started_at", "stopped_at", "stop_reason"]
    list_filter = ["stop_reason", "org", ("stopped_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "org__slug"]
    list_select_related = ["org", "user"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["membership", "user"]
    inlines = [BeaconSignalInline]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # push endpoints are https
    list_display = ["id", "org", "user", "endpoint", "last_success_at", "failures", "created_at"]
    list_filter = ["org"]
    search_fields = ["user__email", "endpoint", "org__slug"]
    list_select_related = ["org", "user"]
    readonly_fields = ["id", "created_at", "updated_at", "last_success_at", "failures"]
    raw_id_fields = ["user"]
