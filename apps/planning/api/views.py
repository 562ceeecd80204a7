"""Planning API (scheduling-orchestrator reference, SPEC §6.3): daily schedules under
optimistic locking (ETag = rev, If-Match on every write), schedule requests, synchronous
optimization, optimization runs and stored conflicts."""

from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.orgs.models import Team
from apps.orgs.roles import ANY_MEMBER, FRONTDESK, SCHEDULERS
from apps.planning import selectors, services
from apps.planning.api.serializers import (
    AssignmentInputSerializer,
    AssignmentListInputSerializer,
    ConstraintsSerializer,
    DailyScheduleCreateSerializer,
    DailyScheduleSerializer,
    OptimizationRunSerializer,
    ProposalSerializer,
    ResolveResultSerializer,
    ResolveSerializer,
    ScheduleConflictSerializer,
    ScheduleRequestCreateSerializer,
    ScheduleRequestSerializer,
    WorkRequirementSerializer,
)
from apps.planning.models import DailySchedule, OptimizationRun, ScheduleConflict, ScheduleRequest, WorkRequirement
from apps.scheduling.api.entries import ScheduleConflictView as LiveConflictView
from apps.scheduling.models import Location
from schedkit.api.problems import Problem
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView

UUID_REGEX = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
PROBLEM = OpenApiResponse(description="problem+json")
IF_MATCH = OpenApiParameter(
    "If-Match",
    {"type": "string", "minLength": 1, "pattern": '^(W/)?"?[0-9]+"?$'},
    OpenApiParameter.HEADER,
    required=True,
    description='The schedule\'s ETag (its rev, e.g. "3"). Stale → 412 with the current version; missing → 428.',
)
WRITE_ERRORS = {
    400: PROBLEM,
    404: PROBLEM,
    412: OpenApiResponse(description="PRECONDITION_FAILED — stale rev; `current` holds the current schedule"),
    428: OpenApiResponse(description="PRECONDITION_REQUIRED — If-Match missing"),
}
DATE_PARAM = OpenApiParameter("date", OpenApiTypes.DATE, description="YYYY-MM-DD")


def _bad(detail: str) -> Problem:
    return Problem(400, "VALIDATION_ERROR", "Invalid input", detail)


def _date(value, name: str = "date", required: bool = True):
    if not value:
        if required:
            raise _bad(f"{name} is required (YYYY-MM-DD).")
        return None
    try:
        parsed = parse_date(str(value))
    except ValueError:
        parsed = None
    if parsed is None:
        raise _bad(f"{name} must be a date (YYYY-MM-DD).")
    return parsed


def _team(actor, slug) -> Team | None:
    if not slug:
        return None
    team = Team.objects.for_actor(actor).filter(slug=slug).first()
    if team is None:
        raise _bad(f"Unknown team {slug!r}.")
    return team


def plain_constraints(actor, data: dict) -> tuple[Team | None, dict]:
    """Validated constraints → (team, the JSON-plain form stored on the request); people and
    pinned assignments are checked against the org here, so the job never meets a foreign id."""
    team = _team(actor, data.get("team"))
    people = [str(p) for p in data.get("people") or []]
    for pk in people:
        services.resolve_person(actor.org, pk)
    pinned = []
    for pin in data.get("pinned") or []:
        services.resolve_work_item(actor.org, pin["work_item"])
        services.resolve_person(actor.org, pin["person_id"])
        pinned.append(
            {
                "work_item": dict(pin["work_item"]),
                "person_id": str(pin["person_id"]),
                "start": pin["start"].isoformat(),
                "end": pin["end"].isoformat(),
            }
        )
    weights = dict(data.get("weights") or {"travel": 1.0, "balance": 1.0, "priority": 1.0})
    return team, {
        "team": team.slug if team else None,
        "people": people,
        "time_limit_ms": data.get("time_limit_ms", 5000),
        "algorithm": data.get("algorithm", "routing"),
        "weights": weights,
        "pinned": pinned,
    }


def _assignment_fields(actor, data: dict) -> dict:
    fields = services.resolve_work_item(actor.org, data["work_item"])
    location = None
    if data.get("location_id"):
        location = Location.objects.for_actor(actor).filter(pk=data["location_id"]).first()
        if location is None:
            raise _bad("Unknown location.")
    fields.update(
        person=services.resolve_person(actor.org, data["person_id"]),
        start=data["start"],
        end=data["end"],
        location=location,
        lat=data.get("lat"),
        lng=data.get("lng"),
        pinned=data.get("pinned", False),
    )
    return fields


def with_etag(response: Response, schedule: DailySchedule) -> Response:
    response["ETag"] = f'"{schedule.rev}"'
    return response


@extend_schema(tags=["planning"])
class DailyScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """One schedule per org (or team) per date: its assignments and rev (the ETag)."""

    queryset = DailySchedule.objects.all()
    serializer_class = DailyScheduleSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "put", "delete"]
    action_roles = {
        "list": FRONTDESK,
        "retrieve": FRONTDESK,
        "create": SCHEDULERS,
        "assignments": SCHEDULERS,
        "assign": SCHEDULERS,
        "unassign": SCHEDULERS,
        "publish": SCHEDULERS,
    }

    def get_queryset(self):
        queryset = selectors.schedules(fetched_by=self.actor)
        if self.action == "list":
            params = self.request.query_params
            if "date" in params:
                queryset = queryset.filter(date=_date(params.get("date")))
            if params.get("team"):
                queryset = queryset.filter(team=_team(self.actor, params["team"]))
        return queryset

    def _fresh(self, schedule) -> DailySchedule:
        return selectors.access_schedule(self.actor, schedule.pk)

    def _render(self, schedule, status_code=200) -> Response:
        return with_etag(Response(DailyScheduleSerializer(self._fresh(schedule)).data, status=status_code), schedule)

    def _write(self, call):
        """Run a rev-guarded service; a stale rev answers 412 with the current version."""
        try:
            return self._render(call(services.parse_if_match(self.request.headers.get("If-Match"))))
        except services.StaleRevision as exc:
            current = DailyScheduleSerializer(self._fresh(exc.schedule)).data
            raise Problem(412, exc.code, exc.title, exc.detail, current=current, current_rev=exc.schedule.rev) from None

    @extend_schema(parameters=[DATE_PARAM, OpenApiParameter("team", OpenApiTypes.STR)], filters=False)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: DailyScheduleSerializer, 404: PROBLEM})
    def retrieve(self, request, *args, **kwargs):
        schedule = self.get_object()
        return with_etag(Response(DailyScheduleSerializer(schedule).data), schedule)

    @extend_schema(
        request=DailyScheduleCreateSerializer,
        responses={201: DailyScheduleSerializer, 200: DailyScheduleSerializer, 400: PROBLEM},
        description="Creates the day's draft schedule, or returns the existing one (200).",
    )
    def create(self, request, *args, **kwargs):
        serializer = DailyScheduleCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        schedule, created = services.daily_schedule_get_or_create(
            actor=self.actor, org=self.actor.org, date=data["date"], team=_team(self.actor, data.get("team"))
        )
        response = self._render(schedule, status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response["Location"] = f"/v1/daily-schedules/{schedule.pk}"
        return response

    @extend_schema(
        methods=["PUT"],
        request=AssignmentListInputSerializer,
        parameters=[IF_MATCH],
        responses={200: DailyScheduleSerializer, **WRITE_ERRORS},
        description="Replace every assignment of the schedule.",
    )
    @action(detail=True, methods=["put"])
    def assignments(self, request, *args, **kwargs):
        schedule = self.get_object()
        serializer = AssignmentListInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [_assignment_fields(self.actor, item) for item in serializer.validated_data["assignments"]]
        return self._write(
            lambda rev: services.daily_schedule_set_assignments(
                actor=self.actor, schedule=schedule, if_match=rev, assignments=items
            )
        )

    @extend_schema(
        methods=["POST"],
        request=AssignmentInputSerializer,
        parameters=[IF_MATCH],
        responses={200: DailyScheduleSerializer, **WRITE_ERRORS},
        description="Put one work item on a person (moves it if it was assigned elsewhere).",
    )
    @assignments.mapping.post
    def assign(self, request, *args, **kwargs):
        schedule = self.get_object()
        serializer = AssignmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = _assignment_fields(self.actor, serializer.validated_data)
        return self._write(
            lambda rev: services.daily_schedule_assign(actor=self.actor, schedule=schedule, if_match=rev, item=item)
        )

    @extend_schema(parameters=[IF_MATCH], responses={200: DailyScheduleSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["delete"], url_path=f"assignments/(?P<assignment_id>{UUID_REGEX})")
    def unassign(self, request, *args, assignment_id=None, **kwargs):
        schedule = self.get_object()
        return self._write(
            lambda rev: services.daily_schedule_unassign(
                actor=self.actor, schedule=schedule, if_match=rev, assignment_id=assignment_id
            )
        )

    @extend_schema(
        request=None,
        parameters=[IF_MATCH],
        responses={200: DailyScheduleSerializer, **WRITE_ERRORS},
        description="Writes the assignees' schedule entries and emits schedule.published (email/push to each).",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, *args, **kwargs):
        schedule = self.get_object()
        return self._write(
            lambda rev: services.daily_schedule_publish(actor=self.actor, schedule=schedule, if_match=rev)
        )


@extend_schema(tags=["planning"])
class ScheduleRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Asynchronous optimization of a day: 202 + Location, then poll."""

    queryset = ScheduleRequest.objects.select_related("team")
    serializer_class = ScheduleRequestSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post"]
    action_roles = {"list": FRONTDESK, "retrieve": FRONTDESK, "create": SCHEDULERS, "apply": SCHEDULERS}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and "date" in self.request.query_params:
            queryset = queryset.filter(date=_date(self.request.query_params.get("date")))
        return queryset

    @extend_schema(parameters=[DATE_PARAM], filters=False)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ScheduleRequestCreateSerializer,
        responses={202: ScheduleRequestSerializer, 400: PROBLEM},
        description="Queues the optimization of `date`; poll the `Location` for status, progress and the result.",
    )
    def create(self, request, *args, **kwargs):
        serializer = ScheduleRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team, constraints = plain_constraints(self.actor, serializer.validated_data.get("constraints") or {})
        created = services.schedule_request_create(
            actor=self.actor,
            org=self.actor.org,
            day=serializer.validated_data["date"],
            team=team,
            constraints=constraints,
        )
        created.refresh_from_db()  # eager execution (embedded default) may have run it already
        response = Response(ScheduleRequestSerializer(created).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/v1/schedule-requests/{created.pk}"
        return response

    @extend_schema(
        request=None,
        parameters=[IF_MATCH],
        responses={200: DailyScheduleSerializer, 409: PROBLEM, **WRITE_ERRORS},
        description="Accept the proposal: replaces the schedule's assignments, only if it is still at the proposal's "
        "base rev (409 PROPOSAL_STALE otherwise — a manual edit is never overwritten).",
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, *args, **kwargs):
        found = self.get_object()
        rev = services.parse_if_match(request.headers.get("If-Match"))
        try:
            schedule = services.schedule_request_apply(actor=self.actor, request=found, if_match=rev)
        except services.StaleRevision as exc:
            current = DailyScheduleSerializer(selectors.access_schedule(self.actor, exc.schedule.pk)).data
            raise Problem(412, exc.code, exc.title, exc.detail, current=current, current_rev=exc.schedule.rev) from None
        fresh = selectors.access_schedule(self.actor, schedule.pk)
        return with_etag(Response(DailyScheduleSerializer(fresh).data), fresh)


@extend_schema(tags=["planning"])
class OptimizationRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Every optimization run: algorithm, duration, score, status."""

    queryset = OptimizationRun.objects.all()
    serializer_class = OptimizationRunSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get"]
    action_roles = {"list": FRONTDESK, "retrieve": FRONTDESK}

    def get_queryset(self):
        if self.action == "list":
            params = self.request.query_params
            return selectors.run_list(
                fetched_by=self.actor, filters={"date": _date(params.get("date"), required=False)}
            )
        return super().get_queryset()

    @extend_schema(parameters=[DATE_PARAM], filters=False)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["planning"])
class ScheduleOptimizationView(SchedKitAPIView):
    """Synchronous optimization of a day within a time limit; recorded as a run, nothing else
    is written. The constraints are query parameters."""

    org_scoped = True
    action_roles = {"get": SCHEDULERS}

    @extend_schema(
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE, required=True),
            OpenApiParameter("team", OpenApiTypes.STR),
            OpenApiParameter("people", OpenApiTypes.STR, description="Comma-separated person ids"),
            OpenApiParameter("time_limit_ms", OpenApiTypes.INT, description="100–60000, default 5000"),
            OpenApiParameter("algorithm", OpenApiTypes.STR, enum=["routing", "greedy"]),
            OpenApiParameter("travel", OpenApiTypes.FLOAT, description="Objective weight of travel (default 1)"),
            OpenApiParameter("balance", OpenApiTypes.FLOAT, description="Objective weight of balance (default 1)"),
            OpenApiParameter("priority", OpenApiTypes.FLOAT, description="Objective weight of priority (default 1)"),
        ],
        responses={200: ProposalSerializer, 400: PROBLEM},
    )
    def get(self, request):
        params = request.query_params
        day = _date(params.get("date"))
        raw = {k: params[k] for k in ("team", "time_limit_ms", "algorithm") if params.get(k)}
        if params.get("people"):
            raw["people"] = [p.strip() for p in params["people"].split(",") if p.strip()]
        weights = {k: params[k] for k in ("travel", "balance", "priority") if params.get(k)}
        if weights:
            raw["weights"] = weights
        unknown = set(params) - {
            "date",
            "team",
            "people",
            "time_limit_ms",
            "algorithm",
            "travel",
            "balance",
            "priority",
            "org",
        }
        if unknown:
            raise _bad(f"Unknown parameter(s): {', '.join(sorted(unknown))}.")
        serializer = ConstraintsSerializer(data=raw)
        serializer.is_valid(raise_exception=True)
        team, constraints = plain_constraints(self.actor, serializer.validated_data)
        body, _run = services.schedule_optimize(
            actor=self.actor, org=self.actor.org, day=day, team=team, constraints=constraints
        )
        return Response(body)


@extend_schema(tags=["planning"])
class ScheduleConflictViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Stored conflicts of daily schedules (`?date=&region=&type=&status=`), and their
    resolution. With `start` and `end` the same endpoint answers the live check of people's
    double-bookings in that window (entries and bookings), as it always has."""

    queryset = ScheduleConflict.objects.select_related("schedule")
    serializer_class = ScheduleConflictSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post"]
    action_roles = {"list": ANY_MEMBER, "retrieve": FRONTDESK, "resolve": SCHEDULERS}

    @extend_schema(
        parameters=[
            DATE_PARAM,
            OpenApiParameter("region", OpenApiTypes.STR),
            OpenApiParameter(
                "type", OpenApiTypes.STR, enum=[c for c, _ in ScheduleConflict._meta.get_field("type").choices]
            ),
            OpenApiParameter("status", OpenApiTypes.STR, description="open (default), resolved or all"),
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Live check: window start (with end)"),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Live check: window end"),
            OpenApiParameter("person", OpenApiTypes.UUID, description="Live check: one person (membership id)"),
            OpenApiParameter("team", OpenApiTypes.STR, description="Live check: one team"),
        ],
        filters=False,
        description="Stored conflicts (members may use only the live check, with start and end).",
    )
    def list(self, request, *args, **kwargs):
        params = request.query_params
        if "start" in params or "end" in params:
            return LiveConflictView.as_view()(request._request)
        if self.actor.role not in FRONTDESK:
            raise PermissionDenied("Stored conflicts require one of the roles: " + ", ".join(sorted(FRONTDESK)) + ".")
        status_filter = params.get("status") or "open"
        if status_filter not in ("open", "resolved", "all"):
            raise _bad("status must be open, resolved or all.")
        queryset = selectors.conflict_list(
            fetched_by=self.actor,
            filters={
                "date": _date(params.get("date"), required=False),
                "region": params.get("region"),
                "type": params.get("type"),
                "status": status_filter,
            },
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ScheduleConflictSerializer(page, many=True).data)

    @extend_schema(
        request=ResolveSerializer,
        parameters=[IF_MATCH],
        responses={200: ResolveResultSerializer, 409: PROBLEM, **WRITE_ERRORS},
        description="Apply a resolution (reassign, reschedule, drop, accept) under the schedule's rev (If-Match), "
        "then re-validate the schedule.",
    )
    @action(detail=False, methods=["post"])
    def resolve(self, request, *args, **kwargs):
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        conflict = selectors.access_conflict(self.actor, data["conflict_id"])
        rev = services.parse_if_match(request.headers.get("If-Match"))
        try:
            resolved, open_now = services.schedule_conflict_resolve(
                actor=self.actor,
                conflict=conflict,
                if_match=rev,
                resolution=data["resolution"],
                person_id=data.get("person_id"),
                start=data.get("start"),
                end=data.get("end"),
            )
        except services.StaleRevision as exc:
            current = DailyScheduleSerializer(selectors.access_schedule(self.actor, exc.schedule.pk)).data
            raise Problem(412, exc.code, exc.title, exc.detail, current=current, current_rev=exc.schedule.rev) from None
        schedule = selectors.access_schedule(self.actor, conflict.schedule_id)
        body = {
            "conflict": ScheduleConflictSerializer(resolved).data,
            "schedule": DailyScheduleSerializer(schedule).data,
            "open_conflicts": ScheduleConflictSerializer(open_now, many=True).data,
        }
        return with_etag(Response(body), schedule)


@extend_schema(tags=["planning"])
class WorkRequirementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """What planning needs to know about a work item: skills, priority, duration, a time
    window and a site. `POST` creates or updates the one requirement of its work item."""

    queryset = WorkRequirement.objects.all()
    serializer_class = WorkRequirementSerializer
    lookup_value_regex = UUID_REGEX
    http_method_names = ["get", "post", "delete"]
    action_roles = {"list": FRONTDESK, "retrieve": FRONTDESK, "create": SCHEDULERS, "destroy": SCHEDULERS}

    @extend_schema(
        request=WorkRequirementSerializer,
        responses={200: WorkRequirementSerializer, 201: WorkRequirementSerializer, 400: PROBLEM},
    )
    def create(self, request, *args, **kwargs):
        serializer = WorkRequirementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        item = services.resolve_work_item(self.actor.org, data.pop("work_item"))
        if "location_id" in data:
            location_id = data.pop("location_id")
            location = Location.objects.for_actor(self.actor).filter(pk=location_id).first() if location_id else None
            if location_id and location is None:
                raise _bad("Unknown location.")
            data["location"] = location
        requirement, created = services.work_requirement_set(
            actor=self.actor, org=self.actor.org, item=item, values=data
        )
        body = WorkRequirementSerializer(requirement).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses={204: None, 404: PROBLEM})
    def destroy(self, request, *args, **kwargs):
        services.work_requirement_delete(actor=self.actor, requirement=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
