from django.contrib import admin
from django.db import models

from apps.bookings.models import Booking, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.bookings.pii import mask_email

# Django 6 assumes https for scheme-less URLs; opt in now (no RemovedInDjango60Warning).
URL_FIELDS_HTTPS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    list_display = ["slug", "title", "org", "person", "team", "duration_minutes", "capacity", "requires_confirmation"]
    list_filter = ["requires_confirmation"]
    search_fields = ["slug", "title"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org", "person", "team", "location"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["attendee_name", "masked_email", "status", "start_at", "person", "event_type", "org"]
    list_filter = ["status"]
    search_fields = ["attendee_name", "id"]
    readonly_fields = [
        "id",
        "attendee_email",
        "attendee_phone",
        "attendee_email_enc",
        "attendee_phone_enc",
        "email_index",
        "phone_index",
        "token_hash",
        "seat_group",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["org", "slot", "event_type", "person", "user", "rescheduled_from"]
    date_hierarchy = "start_at"

    @admin.display(description="email")
    def masked_email(self, obj):
        value = obj.attendee_email
        return mask_email(value) if value else ""


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    list_display = ["url", "org", "event_prefix", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url"]
    readonly_fields = ["id", "secret", "created_at", "updated_at"]
    raw_id_fields = ["org"]


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ["created_at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    can_delete = False


# "Webhook deliverys" otherwise. Set here rather than in Meta so no migration is needed
# while the delivery work changes apps/bookings/models.py in parallel; move it to Meta later.
WebhookDelivery._meta.verbose_name_plural = "webhook deliveries"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_HTTPS
    list_display = ["url", "event", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["url"]
    readonly_fields = ["id", "secret", "created_at", "updated_at"]
    raw_id_fields = ["org", "event", "endpoint"]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver now")
    def redeliver(self, request, queryset):
        from apps.bookings.webhooks import webhook_redeliver

        for delivery in queryset:
            webhook_redeliver(actor=None, delivery=delivery)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "status_code", "error", "duration_ms", "created_at"]
    list_filter = ["status_code"]
    search_fields = ["error"]
    readonly_fields = ["id", "created_at", "updated_at"]
    raw_id_fields = ["org", "delivery"]
