from django.contrib import admin

from apps.calendars.models import BusyBlock, CalendarConnection, CalendarEventLink, ConnectedCalendar
from apps.scheduling import time_version


class ConnectedCalendarInline(admin.TabularInline):
    model = ConnectedCalendar
    extra = 0
    fields = ["calendar_id", "summary", "primary", "check_conflicts", "write_target", "busy_synced_at"]
    readonly_fields = ["calendar_id", "summary", "primary", "busy_synced_at"]


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(admin.ModelAdmin):
    list_display = ["membership", "provider", "account_email", "status", "last_sync_at", "last_error_at"]
    list_filter = ["provider", "status"]
    search_fields = ["account_email"]
    # tokens are ciphertext and never shown
    exclude = ["access_token_enc", "refresh_token_enc", "oauth_state", "oauth_verifier"]
    readonly_fields = ["org", "membership", "provider", "scopes", "token_expires_at", "last_sync_at", "last_error"]
    inlines = [ConnectedCalendarInline]


@admin.register(ConnectedCalendar)
class ConnectedCalendarAdmin(admin.ModelAdmin):
    list_display = ["summary", "calendar_id", "connection", "check_conflicts", "write_target", "busy_synced_at"]
    list_filter = ["check_conflicts", "write_target"]
    exclude = ["sync_token"]


@admin.register(BusyBlock)
class BusyBlockAdmin(admin.ModelAdmin):
    list_display = ["membership", "calendar", "start", "end"]
    list_select_related = ["calendar"]
    readonly_fields = ["org", "calendar", "membership", "start", "end"]

    # Busy blocks have no delete receiver (the sync's bulk delete stays fast): bump here.
    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        time_version.bump(obj.org_id)

    def delete_queryset(self, request, queryset):
        orgs = set(queryset.values_list("org_id", flat=True))
        super().delete_queryset(request, queryset)
        for org_id in orgs:
            time_version.bump(org_id)


@admin.register(CalendarEventLink)
class CalendarEventLinkAdmin(admin.ModelAdmin):
    list_display = ["booking_id", "google_event_id", "state", "attempts", "last_error", "updated_at"]
    list_filter = ["state"]
    search_fields = ["booking_id", "google_event_id"]
    readonly_fields = [f.name for f in CalendarEventLink._meta.fields]
