from rest_framework import serializers

from apps.bookings.models import Booking, EventType
from apps.bookings.pii import mask_email
from apps.bookings.selectors import MAX_RANGE_DAYS
from apps.orgs.models import validate_timezone
from apps.scheduling.api.serializers import SlotSerializer
from schedkit.api.fields import BoundedDateField, BoundedDateTimeField
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer


def _tz(value):
    from django.core.exceptions import ValidationError

    if not value:
        return value
    try:
        validate_timezone(value)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None
    return value


class AttendeeMixin(StrictSerializer):
    attendee_name = serializers.CharField(max_length=200)
    attendee_email = serializers.EmailField(required=False, allow_blank=True, default="")
    attendee_phone = serializers.RegexField(r"^\+?[0-9 ()-]{5,30}$", required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="", validators=[_tz])


class HoldSerializer(AttendeeMixin):
    slot_id = serializers.UUIDField()


class BookSerializer(AttendeeMixin):
    start_time = BoundedDateTimeField()
    attendee_email = serializers.EmailField()


class BookingSerializer(serializers.ModelSerializer):
    """Attendee contact details are masked: the full values never leave the admin screens."""

    status = serializers.CharField(
        source="current_status", read_only=True, help_text="held, pending, confirmed, cancelled, expired, declined"
    )
    slot_id = serializers.UUIDField(read_only=True, allow_null=True)
    event_type_id = serializers.UUIDField(read_only=True, allow_null=True)
    person_id = serializers.UUIDField(read_only=True, allow_null=True)
    attendee_email = serializers.SerializerMethodField()
    attendee_phone = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "status",
            "slot_id",
            "event_type_id",
            "person_id",
            "start_at",
            "end_at",
            "hold_expires_at",
            "attendee_name",
            "attendee_email",
            "attendee_phone",
            "notes",
            "timezone",
            "confirmed_at",
            "cancelled_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_attendee_email(self, obj) -> str:
        value = obj.attendee_email
        return mask_email(value) if value else ""

    def get_attendee_phone(self, obj) -> str:
        value = obj.attendee_phone
        return f"***{value[-3:]}" if value else ""


class BookedSerializer(BookingSerializer):
    cancel_url = serializers.CharField(read_only=True)
    reschedule_url = serializers.CharField(read_only=True)

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "cancel_url", "reschedule_url"]
        read_only_fields = fields


class AdminBookingPatchSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=["cancel", "reschedule"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    slot_id = serializers.UUIDField(required=False)
    start_time = BoundedDateTimeField(required=False)


class ManageCancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ManageRescheduleSerializer(StrictSerializer):
    start_time = BoundedDateTimeField()


class ExposureQuerySerializer(StrictSerializer):
    location_id = serializers.UUIDField()
    person_id = serializers.UUIDField(required=False)
    date = BoundedDateField()


class DatesQuerySerializer(StrictSerializer):
    location_id = serializers.UUIDField()
    person_id = serializers.UUIDField(required=False)
    days = serializers.IntegerField(min_value=1, max_value=90, required=False, default=14)


class ExposureSerializer(serializers.Serializer):
    date = serializers.DateField()
    slots = SlotSerializer(many=True)
    total = serializers.IntegerField()
    has_more = serializers.BooleanField()
    variant = serializers.CharField()


class DateCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    available = serializers.IntegerField()


class DatesSerializer(serializers.Serializer):
    results = DateCountSerializer(many=True)


class HostSlotQuerySerializer(StrictSerializer):
    """One day (`date`) or a range of at most 31 days (`start` and `end`, both included)."""

    date = BoundedDateField(required=False, help_text="One day (or give start and end)")
    start = BoundedDateField(required=False, help_text="First day of a range (with end)")
    end = BoundedDateField(required=False, help_text="Last day of a range, at most 31 days in all")
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True, validators=[_tz])

    def validate(self, attrs):
        if "date" in attrs:
            if "start" in attrs or "end" in attrs:
                raise serializers.ValidationError({"date": "Give either date, or start and end."})
            attrs["start"] = attrs["end"] = attrs["date"]
            return attrs
        if "start" not in attrs or "end" not in attrs:
            missing = "end" if "start" in attrs else "start" if "end" in attrs else "date"
            raise serializers.ValidationError({missing: "Give date, or start and end."})
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "end is before start."})
        if (attrs["end"] - attrs["start"]).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"end": f"At most {MAX_RANGE_DAYS} days from start to end."})
        return attrs


class HostSlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    seats_left = serializers.IntegerField()


class HostSlotsSerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="The day asked for (a date= query)")
    start = serializers.DateField(required=False, help_text="The range asked for (a start=&end= query)")
    end = serializers.DateField(required=False)
    timezone = serializers.CharField()
    slots = HostSlotSerializer(many=True)


class EventTypeSerializer(StrictModelSerializer):
    person_id = serializers.UUIDField(required=False, allow_null=True)
    team_id = serializers.UUIDField(required=False, allow_null=True)
    location_id = serializers.UUIDField(required=False, allow_null=True)

    class Meta:
        model = EventType
        fields = [
            "id",
            "person_id",
            "team_id",
            "slug",
            "title",
            "duration_minutes",
            "capacity",
            "requires_confirmation",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "minimum_notice_minutes",
            "booking_window_days",
            "per_day_limit",
            "location_id",
            "webhook_url",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class EventTypeCreatedSerializer(EventTypeSerializer):
    webhook_secret = serializers.SerializerMethodField(
        help_text="The webhook_url's signing secret (whsec_…), only when just issued (first URL, rotation)"
    )

    class Meta(EventTypeSerializer.Meta):
        fields = [*EventTypeSerializer.Meta.fields, "webhook_secret"]

    def get_webhook_secret(self, obj) -> str | None:
        return self.context.get("webhook_secret")


class EventTypeUpdateSerializer(EventTypeSerializer):
    person_id = serializers.UUIDField(read_only=True)
    team_id = serializers.UUIDField(read_only=True)
