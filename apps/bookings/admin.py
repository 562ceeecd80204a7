from django.contrib import admin
from django.db import models

from apps.bookings.models import Booking, EventType
from apps.bookings.pii import PIIDecryptError, mask_email

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
        try:
            value = obj.attendee_email
        except PIIDecryptError:
            return "⚠ undecryptable (see the log)"  # never a blank that looks like "no email"
        return mask_email(value) if value else ""
