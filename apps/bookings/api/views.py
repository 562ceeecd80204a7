from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from apps.bookings import selectors, services
from apps.bookings.api.serializers import (
    AdminBookingPatchSerializer,
    BookedSerializer,
    BookingSerializer,
    BookSerializer,
    DatesQuerySerializer,
    DatesSerializer,
    EventTypeCreatedSerializer,
    EventTypeSerializer,
    EventTypeUpdateSerializer,
    ExposureQuerySerializer,
    ExposureSerializer,
    HoldSerializer,
    HostSlotQuerySerializer,
    HostSlotsSerializer,
    ManageCancelSerializer,
    ManageRescheduleSerializer,
)
from apps.bookings.emails import manage_urls
from apps.bookings.models import Booking, EventType
from apps.bookings.pii import blind_index
from apps.bookings.webhooks import event_type_webhook_rotate, event_type_webhook_sync
from apps.orgs.models import Team
from apps.orgs.roles import ADMIN_API, ANY_MEMBER, MANAGERS, PUBLIC
from schedkit.api.problems import Problem
from schedkit.api.serializers import ProblemSerializer
from schedkit.api.throttling import IPRateThrottle
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView


class BookingRateThrottle(IPRateThrottle):
    """Booking POSTs: settings.THROTTLE_RATES["booking"] per client address (10/min)."""

    scope = "booking"


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(ProblemSerializer, description=description)


HOLD_CONFLICTS = _problem(
    "SLOT_FULL (no capacity left), PERSON_UNAVAILABLE (the person is booked elsewhere), SLOT_UNAVAILABLE "
    "(blocked or started), IDEMPOTENCY_IN_PROGRESS"
)
BOOK_CONFLICTS = _problem("SLOT_FULL (no seats left), SLOT_UNAVAILABLE (not a free time), PERSON_UNAVAILABLE")
STATE_CONFLICTS = _problem("BOOKING_NOT_ACTIVE, BOOKING_NOT_HELD, BOOKING_NOT_PENDING, SLOT_FULL, SLOT_UNAVAILABLE")


# --- exposure API: /v1/dates, /v1/slots, /v1/bookings ----------------------------------------


def _session_of(request) -> str:
    return request.headers.get("X-Session-Id", "")[:64] or request.actor.ref


class DatesView(SchedKitAPIView):
    org_scoped = True
    action_roles = {"get": ANY_MEMBER}

    @extend_schema(parameters=[DatesQuerySerializer], responses=DatesSerializer)
    def get(self, request):
        query = DatesQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        location = selectors.access_location(self.actor, data["location_id"])
        person = selectors.access_person(self.actor, data["person_id"]) if data.get("person_id") else None
        rows = selectors.dates_available(actor=self.actor, location=location, person=person, days=data["days"])
        return Response(DatesSerializer({"results": rows}).data)


class ExposedSlotsView(SchedKitAPIView):
    """A fair, deterministic subset: 1–3 slots for a person, 3–5 for a location."""

    org_scoped = True
    action_roles = {"get": ANY_MEMBER}

    @extend_schema(
        operation_id="v1_slots_exposed",
        parameters=[
            ExposureQuerySerializer,
            OpenApiParameter("X-Exposure-Variant", str, OpenApiParameter.HEADER, required=False, enum=["all"]),
            OpenApiParameter("X-Session-Id", str, OpenApiParameter.HEADER, required=False),
        ],
        responses=ExposureSerializer,
    )
    def get(self, request):
        query = ExposureQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        location = selectors.access_location(self.actor, data["location_id"])
        person = selectors.access_person(self.actor, data["person_id"]) if data.get("person_id") else None
        result = selectors.slots_exposed(
            actor=self.actor,
            session=_session_of(request),
            location=location,
            person=person,
            day=data["date"],
            variant=request.headers.get("X-Exposure-Variant", ""),
        )
        return Response(ExposureSerializer(result).data)


class BookingViewSet(mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Hold → confirm. Members see the bookings they made; frontdesk and above see all."""

    queryset = Booking.objects.all()
    serializer_class = BookingSerializer
    action_roles = {"create": ANY_MEMBER, "retrieve": ANY_MEMBER, "confirm": ANY_MEMBER}
    idempotency_required_actions = frozenset({"create", "confirm"})
    http_method_names = ["get", "post"]

    def get_throttles(self):
        return (
            [*super().get_throttles(), BookingRateThrottle()]
            if self.request.method == "POST"
            else super().get_throttles()
        )

    def load_parents(self):
        # A foreign booking is a 404 before anything else (even a missing Idempotency-Key).
        self.booking = self.get_object() if self.action == "confirm" else None

    @extend_schema(request=HoldSerializer, responses={201: BookingSerializer, 409: HOLD_CONFLICTS})
    def create(self, request, *args, **kwargs):
        serializer = HoldSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        slot = selectors.access_slot(self.actor, data.pop("slot_id"))
        booking = services.booking_hold(actor_or_none=self.actor, slot=slot, timezone_name=data.pop("timezone"), **data)
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            200: BookingSerializer,
            409: _problem("BOOKING_NOT_HELD (cancelled, expired …), IDEMPOTENCY_IN_PROGRESS"),
            410: _problem("HOLD_EXPIRED: the 10-minute hold ran out"),
        },
    )
    def confirm(self, request, *args, **kwargs):
        booking = services.booking_confirm(actor_or_none=self.actor, booking=self.booking)
        return Response(BookingSerializer(booking).data)


# --- host slots and public booking ----------------------------------------------------------


def _host_slots_response(query: dict, slots, tz_name):
    body = {"timezone": tz_name, "slots": slots}
    if "date" in query:
        body["date"] = query["date"]
    else:
        body["start"], body["end"] = query["start"], query["end"]
    return Response(HostSlotsSerializer(body).data)


class PersonSlotsView(SchedKitAPIView):
    action_roles = {"get": PUBLIC}

    @extend_schema(operation_id="v1_slots_person", parameters=[HostSlotQuerySerializer], responses=HostSlotsSerializer)
    def get(self, request, username, event_slug):
        query = HostSlotQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        event_type = selectors.person_event_type(username=username, slug=event_slug)
        tz_name = data.get("timezone") or event_type.person.tz_name
        slots = selectors.host_slots(
            event_type=event_type, person=event_type.person, day=data["start"], end_day=data["end"], tz_name=tz_name
        )
        return _host_slots_response(data, slots, tz_name)


class TeamSlotsView(SchedKitAPIView):
    action_roles = {"get": PUBLIC}

    @extend_schema(operation_id="v1_slots_team", parameters=[HostSlotQuerySerializer], responses=HostSlotsSerializer)
    def get(self, request, org_slug, team_slug, event_slug):
        query = HostSlotQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        event_type = selectors.team_event_type(org_slug=org_slug, team_slug=team_slug, slug=event_slug)
        tz_name = data.get("timezone") or event_type.org.timezone
        slots = selectors.team_slots(event_type=event_type, day=data["start"], end_day=data["end"], tz_name=tz_name)
        return _host_slots_response(data, slots, tz_name)


class _BookView(SchedKitAPIView):
    action_roles = {"post": PUBLIC}
    idempotency_required_actions = frozenset({"post"})
    throttle_classes = [BookingRateThrottle]

    def _book(self, request, event_type):
        serializer = BookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        booking, raw = services.booking_book(
            event_type=event_type,
            start_at=data.pop("start_time"),
            timezone_name=data.pop("timezone"),
            user=request.user if request.user.is_authenticated else None,
            **data,
        )
        for key, value in manage_urls(raw).items():
            setattr(booking, key, value)
        return Response(BookedSerializer(booking).data, status=status.HTTP_201_CREATED)


class PersonBookView(_BookView):
    @extend_schema(
        operation_id="v1_book_person", request=BookSerializer, responses={201: BookedSerializer, 409: BOOK_CONFLICTS}
    )
    def post(self, request, username, event_slug):
        return self._book(request, selectors.person_event_type(username=username, slug=event_slug))


class TeamBookView(_BookView):
    @extend_schema(
        operation_id="v1_book_team", request=BookSerializer, responses={201: BookedSerializer, 409: BOOK_CONFLICTS}
    )
    def post(self, request, org_slug, team_slug, event_slug):
        return self._book(request, selectors.team_event_type(org_slug=org_slug, team_slug=team_slug, slug=event_slug))


class ManageBookingView(SchedKitAPIView):
    """The attendee's tokenized link (from the confirmation email): read, cancel, reschedule."""

    action_roles = {"get": PUBLIC}

    @extend_schema(responses=BookingSerializer)
    def get(self, request, token):
        return Response(BookingSerializer(selectors.booking_by_token(token)).data)


class ManageBookingOperationView(SchedKitAPIView):
    """POST .../cancel {reason?} or .../reschedule {start_time} with the attendee's token."""

    action_roles = {"post": PUBLIC}
    throttle_classes = [BookingRateThrottle]

    @extend_schema(request=ManageRescheduleSerializer, responses={200: BookingSerializer, 409: STATE_CONFLICTS})
    def post(self, request, token, operation):
        booking = selectors.booking_by_token(token)
        if operation == "cancel":
            serializer = ManageCancelSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            booking = services.booking_cancel(actor_or_none=None, booking=booking, **serializer.validated_data)
        elif operation == "reschedule":
            serializer = ManageRescheduleSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            booking = services.booking_reschedule(
                actor_or_none=None, booking=booking, new_start=serializer.validated_data["start_time"]
            )
        else:
            raise Http404
        return Response(BookingSerializer(booking).data)


class HostDecisionView(SchedKitAPIView):
    """The host's signed email link for a booking that requires confirmation."""

    action_roles = {"post": PUBLIC}

    @extend_schema(request=None, responses={200: BookingSerializer, 409: STATE_CONFLICTS})
    def post(self, request, token, decision):
        booking = selectors.access_booking_by_host_token(token, decision)
        booking = services.booking_host_decision(booking=booking, accept=decision == "confirm")
        return Response(BookingSerializer(booking).data)


# --- admin API ------------------------------------------------------------------------------


class EventTypeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = EventType.objects.all()
    serializer_class = EventTypeSerializer
    action_roles = {
        "list": ADMIN_API,
        "retrieve": ADMIN_API,
        "create": MANAGERS,
        "partial_update": MANAGERS,
        "destroy": MANAGERS,
        "rotate_webhook_secret": MANAGERS,
    }
    http_method_names = ["get", "post", "patch", "delete"]

    def load_parents(self):
        self.event_type = self.get_object() if self.action == "rotate_webhook_secret" else None

    def _resolve(self, data):
        if "person_id" in data:
            person_id = data.pop("person_id")
            data["person"] = selectors.access_person(self.actor, person_id) if person_id else None
        if "team_id" in data:
            team_id = data.pop("team_id")
            team = Team.objects.for_actor(self.actor).filter(pk=team_id).first() if team_id else None
            if team_id and team is None:
                raise Http404
            data["team"] = team
        if "location_id" in data:
            location_id = data.pop("location_id")
            data["location"] = selectors.access_location(self.actor, location_id) if location_id else None
        return data

    @extend_schema(request=EventTypeSerializer, responses={201: EventTypeCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event_type = services.event_type_create(actor=self.actor, **self._resolve(dict(serializer.validated_data)))
        secret = event_type_webhook_sync(actor=self.actor, event_type=event_type)
        return Response(
            EventTypeCreatedSerializer(event_type, context={"webhook_secret": secret}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=EventTypeUpdateSerializer, responses=EventTypeCreatedSerializer)
    def partial_update(self, request, *args, **kwargs):
        event_type = self.get_object()
        serializer = EventTypeUpdateSerializer(event_type, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = self._resolve(dict(serializer.validated_data))
        event_type = services.event_type_update(actor=self.actor, event_type=event_type, **data)
        secret = event_type_webhook_sync(actor=self.actor, event_type=event_type)
        return Response(EventTypeCreatedSerializer(event_type, context={"webhook_secret": secret}).data)

    @extend_schema(request=None, responses={200: EventTypeCreatedSerializer, 409: _problem("NO_WEBHOOK_URL")})
    def rotate_webhook_secret(self, request, *args, **kwargs):
        secret = event_type_webhook_rotate(actor=self.actor, event_type=self.event_type)
        if secret is None:
            raise Problem(409, "NO_WEBHOOK_URL", "No webhook URL", "Set the event type's webhook_url first.")
        return Response(EventTypeCreatedSerializer(self.event_type, context={"webhook_secret": secret}).data)

    def destroy(self, request, *args, **kwargs):
        services.event_type_delete(actor=self.actor, event_type=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class BookingFilter(filters.FilterSet):
    person_id = filters.UUIDFilter()
    event_type_id = filters.UUIDFilter()
    location_id = filters.UUIDFilter(field_name="slot__location_id")
    start_after = filters.IsoDateTimeFilter(field_name="start_at", lookup_expr="gte")
    start_before = filters.IsoDateTimeFilter(field_name="start_at", lookup_expr="lt")
    email = filters.CharFilter(method="filter_email")

    class Meta:
        model = Booking
        fields = ["status", "person_id", "event_type_id", "location_id", "start_after", "start_before", "email"]

    def filter_email(self, queryset, name, value):
        return queryset.filter(email_index=blind_index(value, kind="email"))


class AdminBookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = Booking.objects.all()
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    action_roles = {"list": ADMIN_API, "retrieve": ADMIN_API, "partial_update": ADMIN_API}
    http_method_names = ["get", "patch"]

    @extend_schema(request=AdminBookingPatchSerializer, responses={200: BookingSerializer, 409: STATE_CONFLICTS})
    def partial_update(self, request, *args, **kwargs):
        booking = self.get_object()
        serializer = AdminBookingPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["action"] == "cancel":
            booking = services.booking_cancel(actor_or_none=self.actor, booking=booking, reason=data["reason"])
        else:
            new_slot = selectors.access_slot(self.actor, data["slot_id"]) if data.get("slot_id") else None
            booking = services.booking_reschedule(
                actor_or_none=self.actor, booking=booking, new_slot=new_slot, new_start=data.get("start_time")
            )
        return Response(BookingSerializer(booking).data)
