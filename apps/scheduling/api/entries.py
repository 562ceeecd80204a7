from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.response import Response

from apps.incidents.models import Incident
from apps.orgs.models import Membership, Team
from apps.orgs.roles import ANY_MEMBER, PUBLIC, SCHEDULERS
from apps.scheduling import ical, recurrence, selectors, services, window_cache
from apps.scheduling.api.entry_serializers import (
    INSTANCE_FIELDS,
    ConflictSerializer,
    InstanceListSerializer,
    ScheduleEntrySerializer,
    ScheduleEntryUpdateSerializer,
    ScheduleEntryWriteSerializer,
    ScheduleFeedCreateSerializer,
    ScheduleFeedSerializer,
    render_entry,
    render_instance,
    render_window,
)
from apps.scheduling.conflicts import conflict_pairs
from apps.scheduling.models import ScheduleEntry, ScheduleFeed
from schedkit.api.fields import moment_problem
from schedkit.api.parsers import JSONParser
from schedkit.api.problems import Problem
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView
from schedkit.renderers import EncodedJSON

UUID = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
INSTANCE_REGEX = UUID + "(?:_[0-9]{8}T[0-9]{6}Z)?"
MAX_WINDOW = timedelta(days=366)
PROBLEM = OpenApiResponse(description="problem+json")


def _bad(detail: str, code: str = "VALIDATION_ERROR") -> Problem:
    return Problem(400, code, "Invalid input", detail)


def parse_moment(value: str, name: str) -> datetime:
    parsed = None
    try:
        parsed = parse_datetime(value)
        if parsed is None and parse_date(value) is not None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        parsed = None
    if parsed is None:
        raise _bad(f"{name} must be an ISO 8601 date or date-time.")
    if parsed.tzinfo is None:
        raise _bad(f"{name} needs a UTC offset (e.g. 2026-03-01T00:00:00Z).")
    if moment_problem(parsed):
        raise _bad(f"{name}: {moment_problem(parsed)}")
    return parsed.astimezone(UTC)


def _fields(value: str | None) -> tuple[str, ...] | None:
    """?fields=id,start,end → those instance keys, in the documented order; None = all."""
    if value is None or not value.strip():
        return None
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(INSTANCE_FIELDS))
    if unknown:
        raise _bad(f"Unknown fields: {', '.join(unknown)} (choose from {', '.join(INSTANCE_FIELDS)}).")
    return tuple(name for name in INSTANCE_FIELDS if name in names)


def parse_window(params, required: bool = True) -> tuple[datetime, datetime] | None:
    start, end = params.get("start"), params.get("end")
    if start is None and end is None and not required:
        return None
    if not start or not end:
        raise _bad("Give both start and end.")
    start, end = parse_moment(start, "start"), parse_moment(end, "end")
    if end <= start:
        raise _bad("end must be after start.")
    if end - start > MAX_WINDOW:
        raise _bad("The window is at most 366 days.")
    return start, end


def _memberships(actor, ids) -> list[Membership]:
    ids = set(ids)
    found = list(Membership.objects.for_actor(actor).filter(pk__in=ids).select_related("user"))
    if len(found) != len(ids):
        raise _bad("Every assignee must be a member of this organization.")
    return found


def _incident(actor, incident_id):
    if incident_id is None:
        return None
    incident = Incident.objects.for_actor(actor).filter(pk=incident_id).first()
    if incident is None:
        raise _bad("Unknown incident.")
    return incident


def _team(actor, value):
    if not value:
        return None
    team = Team.objects.for_actor(actor).filter(slug=value).first()
    if team is None:
        try:
            team = Team.objects.for_actor(actor).filter(pk=value).first()
        except Exception:  # noqa: BLE001 - not a uuid either
            team = None
    if team is None:
        raise _bad("Unknown team.")
    return team


def _person(actor, value):
    if not value:
        return None
    if value == "me":
        if not actor.membership_id:
            raise _bad("person=me needs a member's credentials.")
        return actor.membership_id
    try:
        member = Membership.objects.for_actor(actor).filter(pk=value).first()
    except Exception:  # noqa: BLE001 - malformed id
        member = None
    if member is None:
        raise _bad("Unknown person.")
    return member.pk


def _changes(actor, data: dict, org) -> dict:
    """Validated serializer data → service keyword changes."""
    data = dict(data)
    data.pop("force", None)
    data.pop("scope", None)
    if "assignee_ids" in data:
        data["assignees"] = _memberships(actor, data.pop("assignee_ids"))
    if "incident_id" in data:
        data["incident"] = _incident(actor, data.pop("incident_id"))
    pattern = data.pop("recurrence", None)
    if pattern:
        timezone = data.get("timezone") or org.timezone
        try:
            data["rrule"], start_date = recurrence.pattern_to_rrule(pattern, timezone=timezone)
        except recurrence.RecurrenceError as exc:
            raise Problem(400, "INVALID_RRULE", "Invalid recurrence rule", str(exc)) from None
        if start_date and "start" in data:
            # startDate moves the first occurrence to that day, keeping the wall-clock times.
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(timezone)
            local_start, local_end = data["start"].astimezone(zone), data["end"].astimezone(zone)
            days = (start_date - local_start.date()).days
            data["start"] = (local_start + timedelta(days=days)).astimezone(UTC)
            data["end"] = (local_end + timedelta(days=days)).astimezone(UTC)
    elif "rrule" in data and data["rrule"]:
        try:
            recurrence.normalize_rrule(data["rrule"], timezone=data.get("timezone") or org.timezone)
        except recurrence.RecurrenceError as exc:
            raise Problem(400, "INVALID_RRULE", "Invalid recurrence rule", str(exc)) from None
    return data


def _flag(request, name: str, body_value=None) -> bool:
    if body_value is not None:
        return bool(body_value)
    return str(request.query_params.get(name, "")).lower() in ("1", "true", "yes")


@extend_schema(tags=["schedule"])
class ScheduleEntryViewSet(OrgScopedViewSet):
    """Schedule entries: masters are stored; with ?start=&end= the list expands series into
    concrete and virtual instances. Detail routes accept a master id or an instance id."""

    queryset = ScheduleEntry.objects.all()
    lookup_value_regex = INSTANCE_REGEX
    http_method_names = ["get", "post", "patch", "delete"]
    action_roles = {
        "list": ANY_MEMBER,
        "retrieve": ANY_MEMBER,
        "create": SCHEDULERS,
        "partial_update": SCHEDULERS,
        "destroy": SCHEDULERS,
        "import_ics": SCHEDULERS,
    }

    def _resolve(self) -> tuple[ScheduleEntry, datetime | None]:
        try:
            master_id, original = recurrence.parse_instance_id(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        action = "retrieve" if self.request.method == "GET" else "change"
        return selectors.access_entry(self.actor, master_id, action), original

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Window start (with offset)"),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Window end (exclusive)"),
            OpenApiParameter("assignee", OpenApiTypes.UUID, description="Membership id, or `me`"),
            OpenApiParameter("team", OpenApiTypes.STR, description="Team slug or id"),
            OpenApiParameter(
                "fields",
                OpenApiTypes.STR,
                description="With a window: comma-separated instance fields to return (e.g. "
                "`id,start,end,title,assignees`); default all",
            ),
        ],
        responses={200: InstanceListSerializer, 400: PROBLEM},
        description="Without a window: stored masters (cursor-paginated). With start and end: every instance.",
    )
    def list(self, request, *args, **kwargs):
        window = parse_window(request.query_params, required=False)
        assignee = _person(self.actor, request.query_params.get("assignee"))
        team = _team(self.actor, request.query_params.get("team"))
        if window is None:
            queryset = selectors.visible_entries(fetched_by=self.actor)
            if assignee:
                queryset = queryset.filter(assignees=assignee)
            if team:
                queryset = queryset.filter(assignees__team_memberships__team=team).distinct()
            page = self.paginate_queryset(queryset)
            return self.get_paginated_response([render_entry(e) for e in page])
        fields = _fields(request.query_params.get("fields"))
        key = window_cache.window_key(
            self.actor, start=window[0], end=window[1], assignee=assignee, team=team.pk if team else None, fields=fields
        )
        cached = window_cache.get(key)
        if cached is not None:
            count, results = cached
            return Response({"count": count, "results": results})
        masters, people = selectors.window_masters(
            fetched_by=self.actor, start=window[0], end=window[1], assignee=assignee, team=team
        )
        count, encoded = render_window(masters, window[0], window[1], fields, people)
        window_cache.put_encoded(key, count, encoded)
        return Response({"count": count, "results": EncodedJSON(encoded)})

    @extend_schema(responses={200: ScheduleEntrySerializer, 404: PROBLEM})
    def retrieve(self, request, *args, **kwargs):
        entry, original = self._resolve()
        if original is None:
            return Response(render_entry(entry))
        found = selectors.schedule_instances(
            fetched_by=self.actor, start=original - timedelta(days=32), end=original + timedelta(days=32)
        )
        for instance in found:
            if instance.id == self.kwargs["pk"]:
                return Response(render_instance(instance))
        raise Http404

    @extend_schema(
        request=ScheduleEntryWriteSerializer,
        responses={201: ScheduleEntrySerializer, 400: PROBLEM, 409: OpenApiResponse(description="SCHEDULE_CONFLICT")},
    )
    def create(self, request, *args, **kwargs):
        serializer = ScheduleEntryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        force = _flag(request, "force", serializer.validated_data.get("force"))
        data = _changes(self.actor, serializer.validated_data, self.actor.org)
        entry = services.schedule_entry_create(actor=self.actor, org=self.actor.org, force=force, **data)
        return Response(render_entry(selectors.access_entry(self.actor, entry.pk)), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ScheduleEntryUpdateSerializer,
        parameters=[OpenApiParameter("scope", OpenApiTypes.STR, enum=["single", "future", "all"])],
        responses={200: ScheduleEntrySerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM},
        description="On an instance id: scope=single (default) changes that occurrence, future splits "
        "the series there, all changes the master (times move the whole series by the same amount).",
    )
    def partial_update(self, request, *args, **kwargs):
        entry, original = self._resolve()
        serializer = ScheduleEntryUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scope = serializer.validated_data.get("scope") or request.query_params.get("scope")
        scope = scope or ("single" if original is not None else "all")
        force = _flag(request, "force", serializer.validated_data.get("force") or None)
        changes = _changes(self.actor, serializer.validated_data, entry.org)
        if ("start" in changes) != ("end" in changes) and original is None and "start" in changes:
            changes["end"] = changes["start"] + entry.duration
        master = services.schedule_entry_update(
            actor=self.actor, entry=entry, changes=changes, instance_start=original, scope=scope, force=force
        )
        return Response(render_entry(selectors.access_entry(self.actor, master.pk)))

    @extend_schema(
        parameters=[OpenApiParameter("scope", OpenApiTypes.STR, enum=["single", "future", "all"])],
        responses={204: None, 404: PROBLEM},
    )
    def destroy(self, request, *args, **kwargs):
        entry, original = self._resolve()
        scope = request.query_params.get("scope") or ("single" if original is not None else "all")
        services.schedule_entry_delete(actor=self.actor, entry=entry, instance_start=original, scope=scope)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"text/calendar": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.BINARY},
        responses={201: ScheduleEntrySerializer(many=True), 400: PROBLEM, 413: PROBLEM},
        description="Import an .ics file (raw text/calendar body or multipart `file`); "
        "optional ?assignee=<membership id> assigns the imported entries.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FileUploadParser, JSONParser],
    )
    def import_ics(self, request, *args, **kwargs):
        upload = request.FILES.get("file")
        if upload is None:
            raise _bad("Send the .ics file as multipart field `file` (or as the raw body).")
        if upload.size > ical.MAX_IMPORT_BYTES:
            raise Problem(413, "PAYLOAD_TOO_LARGE", "File too large", f"At most {ical.MAX_IMPORT_BYTES} bytes.")
        assignee = _person(self.actor, request.query_params.get("assignee"))
        assignees = _memberships(self.actor, [assignee]) if assignee else []
        entries = ical.schedule_import_ics(
            actor=self.actor, org=self.actor.org, data=upload.read(), assignees=assignees
        )
        return Response([render_entry(e) for e in entries], status=status.HTTP_201_CREATED)


@extend_schema(tags=["schedule"])
class ScheduleConflictView(SchedKitAPIView):
    """Double-bookings of people in a window: pairs of overlapping instances (entries, recurring
    ones expanded, and bookings). Not routed on its own: GET /v1/schedule-conflicts with
    `start`/`end` is planning's conflict list handing the live check to this view (planning
    depends on scheduling, never the reverse). It answers in the list's envelope (`next`,
    `previous`, `results`; one page, so both links are null) plus `count`."""

    org_scoped = True
    action_roles = {"get": ANY_MEMBER}

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("person", OpenApiTypes.UUID),
            OpenApiParameter("team", OpenApiTypes.STR),
        ],
        responses={200: ConflictSerializer(many=True), 400: PROBLEM},
    )
    def get(self, request):
        start, end = parse_window(request.query_params)
        person = _person(self.actor, request.query_params.get("person"))
        team = _team(self.actor, request.query_params.get("team"))
        results = conflict_pairs(fetched_by=self.actor, start=start, end=end, person=person, team=team)
        results = [{"assignee_id": r["assignee_id"], "a": _plain(r["a"]), "b": _plain(r["b"])} for r in results]
        return Response({"next": None, "previous": None, "count": len(results), "results": results})


def _plain(item: dict) -> dict:
    return {k: (v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v) for k, v in item.items()}


@extend_schema(tags=["schedule"])
class ScheduleFeedViewSet(mixins.ListModelMixin, OrgScopedViewSet):
    """Tokenized iCal feed URLs of a person or a team (the token shows once)."""

    queryset = ScheduleFeed.objects.all()
    serializer_class = ScheduleFeedSerializer
    lookup_value_regex = UUID
    http_method_names = ["get", "post", "delete"]
    action_roles = {"list": ANY_MEMBER, "create": ANY_MEMBER, "destroy": ANY_MEMBER}

    @extend_schema(request=ScheduleFeedCreateSerializer, responses={201: ScheduleFeedSerializer, 400: PROBLEM})
    def create(self, request, *args, **kwargs):
        serializer = ScheduleFeedCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = team = None
        if data.get("team_id"):
            team = _team(self.actor, str(data["team_id"]))
        else:
            target = data.get("membership_id") or self.actor.membership_id
            if target is None:
                raise _bad("Name the person (membership_id) or the team (team_id).")
            membership = _memberships(self.actor, [target])[0]
        if self.actor.role not in SCHEDULERS and (team is not None or membership.pk != self.actor.membership_id):
            raise Problem(403, "PERMISSION_DENIED", "Permission denied", "Members may only create their own feed.")
        feed, raw = ical.schedule_feed_create(actor=self.actor, membership=membership, team=team)
        body = ScheduleFeedSerializer(feed).data
        body["token"] = raw
        body["url"] = f"{settings.PUBLIC_BASE_URL}/v1/schedule-feed/{raw}.ics"
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 404: PROBLEM})
    def destroy(self, request, *args, **kwargs):
        ical.schedule_feed_delete(actor=self.actor, feed=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["schedule"])
class ScheduleFeedIcsView(SchedKitAPIView):
    """The public, token-in-URL iCal feed (RRULE, EXDATE, RECURRENCE-ID overrides, VTIMEZONE)."""

    authentication_classes: list = []
    action_roles = {"get": PUBLIC}

    @extend_schema(responses={(200, "text/calendar"): OpenApiTypes.STR, 404: PROBLEM})
    def get(self, request, token: str):
        feed = ical.feed_by_token(token)
        if feed is None:
            raise Http404
        name = f"{feed.org.name} — " + (feed.team.name if feed.team_id else feed.membership.user.email)
        body = ical.build_calendar(ical.feed_entries(feed), name=name)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Cache-Control"] = "private, max-age=300"
        return response
