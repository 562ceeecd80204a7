from django.contrib import admin, messages
from django.db import models
from django.db.models import Q

from apps.events import outbox, services
from apps.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

URL_FIELDS_HTTPS = {models.URLField: {"assume_scheme": "https"}}  # Django 6's default, opted into now


class StateFilter(admin.SimpleListFilter):
    title = "delivery state"
    parameter_name = "state"
    QUERIES = {
        "pending": Q(dispatched_at__isnull=True, dead_at__isnull=True, attempts=0),
        "retrying": Q(dispatched_at__isnull=True, dead_at__isnull=True, attempts__gt=0),
        "dead": Q(dispatched_at__isnull=True, dead_at__isnull=False),
        "dispatched": Q(dispatched_at__isnull=False),
    }

    def lookups(self, request, model_admin):
        return [(key, key) for key in self.QUERIES]

    def queryset(self, request, queryset):
        return queryset.filter(self.QUERIES[self.value()]) if self.value() in self.QUERIES else queryset


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "org", "created_at", "state", "attempts", "lease_until", "dispatched_at"]
    list_filter = [StateFilter, "type", "org"]
    search_fields = ["type", "id"]
    readonly_fields = [
        "id",
        "org",
        "type",
        "data",
        "created_at",
        "updated_at",
        "dispatched_at",
        "attempts",
        "lease_until",
        "lease_token",
        "last_error",
        "dead_at",
    ]
    list_select_related = ["org"]
    date_hierarchy = "created_at"
    actions = ["revive"]

    def has_add_permission(self, request):
        return False  # events come from services, never by hand

    @admin.display(description="state")
    def state(self, obj):
        return obj.state

    @admin.action(description="Retry now with a fresh retry budget (dead or backing off)")
    def revive(self, request, queryset):
        for event in queryset.filter(dispatched_at__isnull=True):
            outbox.event_revive(actor=None, event=event)
        self.message_user(request, "The relay dispatches them on its next run.", messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    list_display = ["url", "org", "event_prefix", "owner", "active", "deleted_at", "created_at"]
    list_filter = ["active", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["url", "owner"]
    readonly_fields = ["id", "secret", "owner", "deleted_at", "created_at", "updated_at"]
    raw_id_fields = ["org"]


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ["created_at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    list_display = ["url", "event", "status", "attempts", "last_status_code", "next_attempt_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["url"]
    readonly_fields = ["id", "lease_token", "delivered_at", "last_status_code", "created_at", "updated_at"]
    raw_id_fields = ["org", "event", "endpoint"]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver now")
    def redeliver(self, request, queryset):
        for delivery in queryset:
            services.webhook_redeliver(actor=None, delivery=delivery)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "status_code", "error", "duration_ms", "created_at"]
    list_filter = ["status_code"]
    search_fields = ["error"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org", "delivery"]
