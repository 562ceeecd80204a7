from django.http import FileResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.orgs.roles import ANY_MEMBER, AUTHENTICATED
from apps.signals import conf, selectors, services
from apps.signals.api.serializers import (
    BeaconPingSerializer,
    BeaconSerializer,
    LivePositionSerializer,
    PushSubscriptionSerializer,
    SignalReadSerializer,
    SignalSerializer,
    VapidKeySerializer,
)
from apps.signals.models import Beacon, PushSubscription, Signal
from schedkit.api.parsers import JSONParser
from schedkit.api.problems import Problem
from schedkit.api.serializers import ProblemSerializer
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView

UUID_REGEX = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class SignalFilter(filters.FilterSet):
    type = filters.MultipleChoiceFilter(choices=Signal.Type.choices)
    membership = filters.UUIDFilter(field_name="membership_id")
    user = filters.UUIDFilter(field_name="user_id")
    after = filters.UUIDFilter(field_name="id", lookup_expr="gt", help_text="Signals newer than this signal id")
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Signal
        fields = ["type", "membership", "user", "after", "since", "until"]


class SignalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """The org's signal feed, newest first. Members create their own notes, check-ins,
    captures (multipart image upload) and alerts; a `beacon` ({"type": "beacon", lat, lng, …})
    is the same ping as POST /v1/signals/beacon (201 starts it, then 200 and no database write)."""

    queryset = Signal.objects.all()
    serializer_class = SignalReadSerializer
    filterset_class = SignalFilter
    lookup_value_regex = UUID_REGEX
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_roles = {"list": ANY_MEMBER, "retrieve": ANY_MEMBER, "create": ANY_MEMBER, "capture": ANY_MEMBER}
    http_method_names = ["get", "post"]

    @extend_schema(
        request={"application/json": SignalSerializer, "multipart/form-data": SignalSerializer},
        description=(
            'A beacon is posted like the other types: {"type": "beacon", "lat", "lng", "accuracy_m"?, "heading"?, '
            '"speed"?} is the ping of POST /v1/signals/beacon (201 with the live position when it starts the beacon, '
            "200 and no database write after that)."
        ),
        responses={
            200: OpenApiResponse(LivePositionSerializer, description="type=beacon: a later ping"),
            201: SignalReadSerializer,
            400: ProblemSerializer,
            413: OpenApiResponse(ProblemSerializer, description="CAPTURE_TOO_LARGE"),
        },
    )
    def create(self, request, *args, **kwargs):
        if hasattr(request.data, "get") and request.data.get("type") == Signal.Type.BEACON:
            # A beacon posted like any other signal: the same zero-write fast path.
            ping = request.data.copy()
            ping.pop("type")
            return beacon_ping_response(self.actor, ping)
        serializer = SignalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signal = services.signal_create(actor=self.actor, **serializer.validated_data)
        return Response(SignalReadSerializer(signal).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "image/*"): OpenApiResponse(description="The captured image"), 404: ProblemSerializer}
    )
    @action(detail=True, methods=["get"])
    def capture(self, request, *args, **kwargs):
        signal = self.get_object()
        if not signal.capture:
            raise Problem(404, "NO_CAPTURE", "No image", "This signal carries no image.")
        response = FileResponse(signal.capture.open("rb"), content_type=signal.capture_content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class BeaconFilter(filters.FilterSet):
    active = filters.BooleanFilter(
        field_name="stopped_at", lookup_expr="isnull", help_text="true (default): active beacons only"
    )

    class Meta:
        model = Beacon
        fields = ["active"]


class BeaconViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Beacons of the org; active ones carry their live position (from the cache)."""

    queryset = Beacon.objects.select_related("user")
    serializer_class = BeaconSerializer
    filterset_class = BeaconFilter
    lookup_value_regex = UUID_REGEX
    action_roles = {"list": ANY_MEMBER, "retrieve": ANY_MEMBER}

    def filter_queryset(self, queryset):
        if "active" not in self.request.query_params and self.action == "list":
            queryset = queryset.filter(stopped_at__isnull=True)
        return super().filter_queryset(queryset)

    def get_serializer_context(self):
        return super().get_serializer_context() | {"positions": getattr(self, "_positions", {})}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self._positions = selectors.live_positions(b for b in page if b.active)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        beacon = self.get_object()
        self._positions = selectors.live_positions([beacon]) if beacon.active else {}
        return Response(self.get_serializer(beacon).data)


class BeaconPingView(SchedKitAPIView):
    """Ping the caller's own beacon. The first ping starts it (persists `beacon_on`, 201);
    later pings update the live position and broadcast `signal.beacon` without any database
    write (200)."""

    org_scoped = True
    action_roles = {"post": ANY_MEMBER}

    @extend_schema(
        request=BeaconPingSerializer,
        responses={200: LivePositionSerializer, 201: LivePositionSerializer, 400: ProblemSerializer},
    )
    def post(self, request):
        return beacon_ping_response(self.actor, request.data)


def beacon_ping_response(actor, data) -> Response:
    """POST /v1/signals/beacon, and POST /v1/signals with type=beacon."""
    serializer = BeaconPingSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    position, started = services.beacon_ping(actor=actor, **serializer.validated_data)
    return Response(position | {"started": started}, status=201 if started else 200)


class BeaconStopView(SchedKitAPIView):
    """Stop the caller's own beacon: persists `beacon_off` and clears it from the live map."""

    org_scoped = True
    action_roles = {"post": ANY_MEMBER}

    @extend_schema(request=None, responses={200: BeaconSerializer, 409: ProblemSerializer})
    def post(self, request):
        beacon = services.beacon_stop(actor=self.actor)
        return Response(BeaconSerializer(beacon).data)


class PushSubscriptionViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    """Web Push subscriptions of the caller's browsers (admins see the org's). Alerts are
    pushed to every subscribed browser of the org's members."""

    queryset = PushSubscription.objects.all()
    serializer_class = PushSubscriptionSerializer
    lookup_value_regex = UUID_REGEX
    action_roles = {"list": ANY_MEMBER, "create": ANY_MEMBER, "destroy": ANY_MEMBER}
    http_method_names = ["get", "post", "delete"]

    @extend_schema(responses={200: PushSubscriptionSerializer, 201: PushSubscriptionSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, created = services.push_subscription_save(
            actor=self.actor,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(self.get_serializer(subscription).data, status=201 if created else 200)

    def destroy(self, request, *args, **kwargs):
        services.push_subscription_delete(actor=self.actor, subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class VapidKeyView(SchedKitAPIView):
    """The VAPID public key browsers pass to pushManager.subscribe() (empty: push disabled)."""

    action_roles = {"get": AUTHENTICATED}

    @extend_schema(responses=VapidKeySerializer)
    def get(self, request):
        return Response({"public_key": conf.get("VAPID_PUBLIC_KEY")})
