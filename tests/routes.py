"""Every API route, walked from the URLconf, and the one declaration per route the route
tests read: tests/test_role_matrix.py (role × endpoint), tests/test_tenancy.py (foreign ids
in URLs, bodies and query parameters) and tests/test_permissions.py (declared policy = SPEC).

ADDING A ROUTE? Add one entry to ROUTES below, keyed by the URL name (`name=` in urls.py):

    "admin-location-detail": {
        "retrieve": Call("setup:read"),
        "partial_update": Call("setup:write", body={"name": "Renamed"}),
        "destroy": Call("setup:write", url=lambda c: {"pk": c.w.spare_location.pk}),
    },

- one `Call` per action the view routes (viewsets: the action name; APIViews: the method);
- the first argument is the SPEC §2 capability (see SPEC_ROLES): the view's `action_roles`
  must equal it (tests/test_permissions.py), and every role is called with it
  (tests/test_role_matrix.py) — allowed roles must get `ok`, the others 403 PERMISSION_DENIED;
- `url`, `body`, `query` are values or `lambda c: …` of the call context `c` (`c.w` is the
  org's World below, `c.me` the caller's membership, `c.key` its API key, `c.role`);
  URL kwargs not given are derived: the org slug, and the view's lookup kwarg from
  `model=` (an attribute name of World) — or give `url=` outright;
- `ids` / `query_ids` name the body fields / query parameters that carry another object's
  id: tests/test_tenancy.py sends org A's id there from org B's caller, and fails when a
  request field or query parameter of the OpenAPI schema that looks like an id
  (`*_id`, `*_ids`, `assignee`, `person`, `team`, `membership`, `user`) is not declared
  (put it in `not_ids` with a reason if it is not an object reference);
- `others=Others(roles, refused, url=/body=)` for a row-level rule ("own bookings", "assigned
  to them"): the same call on someone else's object, allowed for `roles` only;
- `tenancy="why"` for a route the tenancy harness cannot walk (public tokens, no org);
- if the route needs an object World does not have yet, add it to World.__init__ (one line,
  using the app's tests/<app>/factories.py);
- a new GET route also needs its query-count baseline in tests/query_counts.json
  (tests/test_query_count_matrix.py says the figure to write).
A routed action without a declaration fails tests/test_permissions.py with the name to add.
Known-wrong behaviour is a strict xfail with its reason: KNOWN_WRONG in
tests/test_role_matrix.py, KNOWN_LEAKS in tests/test_tenancy.py.
Routes outside DRF (the SSE stream, the magic-link redirect) are listed in NON_API_ROUTES
with the test that covers them."""

import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.accounts.services import api_key_create
from apps.bookings import services as booking_services
from apps.bookings.emails import host_token
from apps.calendars.models import CalendarConnection
from apps.dispatch import links as dispatch_links
from apps.dispatch import selectors as dispatch_selectors
from apps.dispatch.models import Assignment, Dispatch
from apps.events.models import Event, WebhookDelivery, WebhookEndpoint
from apps.incidents import services as incident_services
from apps.orgs.models import Invite, Role, TeamMember
from apps.orgs.roles import ADMIN_API, ADMINS, ANY_MEMBER, AUTHENTICATED, FRONTDESK, MANAGERS, PUBLIC, SCHEDULERS
from apps.planning.models import (
    DailySchedule,
    OptimizationRun,
    ScheduleAssignment,
    ScheduleConflict,
    ScheduleRequest,
    WorkRequirement,
)
from apps.scheduling import ical
from apps.scheduling.models import Person
from tests.bookings.factories import make_event_type
from tests.calendars.factories import make_connection
from tests.dispatch.factories import make_policy
from tests.factories import MembershipFactory, OrgFactory, TeamFactory, actor_for
from tests.incidents.factories import make_incident
from tests.schedule.factories import make_entry
from tests.scheduling.factories import make_location, make_person, make_rule, make_slot
from tests.signals.factories import make_beacon, make_push_subscription, make_signal

API_PREFIXES = ("v1/", "admin/v1/")
ROLES = list(Role.values)
SESSION_ROLES = ("manager", "member")  # also called with a session instead of an API key

# --- the URLconf walk -------------------------------------------------------------------


@dataclass
class Route:
    route: str  # the resolver's regex, e.g. "admin/v1/^locations/(?P<pk>[^/.]+)$"
    name: str
    cls: type
    actions: dict | None  # viewsets: {"get": "list", ...}; plain APIViews: None
    kwarg_names: tuple[str, ...]

    @property
    def methods_and_actions(self) -> list[tuple[str, str]]:
        if self.actions is not None:
            return [(m, a) for m, a in self.actions.items() if m not in ("head", "options")]
        return [(m, m) for m in self.cls.http_method_names if m not in ("head", "options") and hasattr(self.cls, m)]

    @property
    def path(self) -> str:
        """The route as the OpenAPI document spells it: /v1/orgs/{org_slug}/members/{id}."""
        path = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", r"{\1}", self.route)
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        return "/" + path.replace("^", "").replace("$", "").replace("{pk}", "{id}")

    def __str__(self):
        return self.path


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def all_api_patterns() -> list[tuple[str, object]]:
    """Every URL pattern under /v1/ and /admin/v1/, DRF or not."""
    return [(r, p) for r, p in _walk(get_resolver().url_patterns) if r.startswith(API_PREFIXES)]


def api_routes() -> list[Route]:
    routes = []
    for route, pattern in all_api_patterns():
        cls = getattr(pattern.callback, "cls", None)
        if cls is None or not issubclass(cls, APIView):
            continue
        routes.append(
            Route(
                route=route,
                name=pattern.name,
                cls=cls,
                actions=getattr(pattern.callback, "actions", None),
                kwarg_names=tuple(pattern.pattern.regex.groupindex),
            )
        )
    return routes


# Under /v1/ but not DRF views: covered by their own tests, named here.
NON_API_ROUTES = {
    "event-stream": "SSE stream, org by membership: tests/test_stream.py, tests/test_stream_access.py",
    "signal-stream": "the same SSE stream under its old path: tests/test_stream.py, tests/test_stream_access.py",
    "api-not-found": "catch-all: unknown /v1/ paths answer problem+json 404 (tests/test_methods.py)",
    "admin-api-not-found": "catch-all: unknown /admin/v1/ paths answer problem+json 404 (tests/test_methods.py)",
    "auth-link": "magic-link redirect (a token, no org): tests/test_auth.py",
}

# --- SPEC §2 "Org roles", as capabilities ----------------------------------------------

SPEC_ROLES = {
    "public": PUBLIC,  # a token or a public booking handle is the credential
    "signed-in": AUTHENTICATED,  # any signed-in user, before or without an org
    # owner/admin: everything in the org, members, teams, API keys, settings.
    "org:read": ANY_MEMBER,
    "org:settings": ADMINS,
    "members:read": ANY_MEMBER,
    "members:write": ADMINS,
    "invites": ADMINS,
    "intake:manage": ADMINS,  # intake endpoints are org settings
    # manager: teams, locations, people, availability, event types, schedules, bookings, incidents.
    "teams:read": ANY_MEMBER,
    "teams:write": MANAGERS,
    # The admin API (/admin/v1/…) requires admin, manager or frontdesk (owner implied).
    "setup:read": ADMIN_API,
    "setup:write": MANAGERS,  # locations, people, availability, slot generation, event types
    "bookings:admin": ADMIN_API,  # frontdesk: bookings (create, cancel, reschedule)
    "webhooks": MANAGERS,  # booking webhooks belong with event types (which carry webhook_url)
    # scheduler: schedule entries, daily schedules, dispatch, bookings, incidents.
    "schedule:read": ANY_MEMBER,  # frontdesk reads schedules; a member their own
    "schedule:write": SCHEDULERS,
    # the org's daily plan (planning): frontdesk reads schedules; a member reads only their own
    # schedule, which is their entries (/v1/schedule-entries), not the org's plan
    "planning:read": FRONTDESK,
    "incidents:read": ANY_MEMBER,  # member reads org incidents; frontdesk reads incidents
    "incidents:create": SCHEDULERS,
    "incidents:assign": SCHEDULERS,
    "incidents:update": SCHEDULERS | {Role.MEMBER},  # a member: those assigned to them
    # member (responder): own signals and beacon, own bookings and schedule.
    "own:signals": ANY_MEMBER,
    "own:bookings": ANY_MEMBER,
    "own:schedule-feeds": ANY_MEMBER,
    "own:api-keys": ANY_MEMBER,  # per user per org; admins see all of the org's
    "own:push": ANY_MEMBER,
    "events:read": ANY_MEMBER,  # the org's event log: what every member's live stream carries
    "own:calendars": ANY_MEMBER,  # SPEC: "Google Calendar sync per user": a connection is its owner's alone
    # dispatch (SPEC §8): schedulers and up dispatch; a member (responder) reads the org's
    # incidents and so their dispatch state, and answers the offers made to them
    "dispatch": SCHEDULERS,
    "dispatch:read": ANY_MEMBER,
    "dispatch:respond": SCHEDULERS | {Role.MEMBER},  # a member: their own assignments
    # escalation chains are org configuration ("settings": owner/admin); dispatchers read them
    "dispatch:policies:read": SCHEDULERS,
    "dispatch:policies": ADMINS,
}

# --- declarations ------------------------------------------------------------------------

OK_BY_METHOD = {"get": (200,), "post": (201,), "patch": (200,), "delete": (204,)}


@dataclass(frozen=True)
class Call:
    spec: str
    body: object = None  # dict, or lambda c: dict
    query: object = None
    url: object = None  # URL kwargs (dict or lambda c: dict); derived when None
    model: str | None = None  # World attribute of the object named by the lookup kwarg
    ok: tuple[int, ...] | None = None  # an allowed role's statuses (default by method)
    ids: tuple[str, ...] = ()  # body fields carrying object ids
    query_ids: tuple[str, ...] = ()  # query parameters carrying object ids
    not_ids: dict = field(default_factory=dict)  # id-looking fields that are not references
    fmt: str = "json"  # or "multipart"
    headers: object = None
    tenancy: str | None = None  # None: org-scoped, walked; else why the harness skips it
    others: "Others | None" = None  # the row-level rule: the same call on someone else's object


@dataclass(frozen=True)
class Others:
    """SPEC §2's row-level rules ("own bookings", "incidents assigned to them"): the call on an
    object that is not the caller's. Roles in `who` get the call's `ok`; the other roles the
    capability allows get `refused` — 404 where they cannot see the object, 403 where they
    can see but not change it."""

    who: frozenset
    refused: tuple[int, ...]
    url: object = None
    body: object = None


def _own(attr):
    return lambda c: {"pk": getattr(c.w, attr)[c.role or "owner"].pk}


def _someone_elses(attr):
    return lambda c: {"pk": getattr(c.w, attr)["admin" if c.role == "owner" else "owner"].pk}


NOT_ASSIGNED = Others(SCHEDULERS, (403,), url=lambda c: {"pk": c.w.unassigned_incident.pk})
# a dispatcher answers for a responder on the phone; a member only for themselves
NOT_OFFERED_TO_THEM = Others(SCHEDULERS, (403,), url=_someone_elses("offers"))


SOON = lambda c: c.w.day  # noqa: E731 - a bookable day, two days ahead
WINDOW = lambda c: {"start": c.w.entry_start.isoformat(), "end": (c.w.entry_start + timedelta(days=14)).isoformat()}  # noqa: E731
PUBLIC_TOKEN = "a token is the credential: no org, nothing to swap"
IF_MATCH_1 = {"If-Match": '"1"'}

ROUTES: dict[str, dict[str, Call]] = {
    # accounts
    "auth-login": {"post": Call("public", body={"email": "someone@example.test"}, ok=(202,), tenancy=PUBLIC_TOKEN)},
    "auth-verify": {
        "post": Call(
            "public", body={"email": "someone@example.test", "code": "000000"}, ok=(400,), tenancy=PUBLIC_TOKEN
        )
    },
    "auth-logout": {"post": Call("signed-in", ok=(204,), tenancy="no org, no ids")},
    "auth-me": {"get": Call("signed-in", tenancy="no org, no ids")},
    "api-key-list": {"list": Call("own:api-keys"), "create": Call("own:api-keys", body={"name": "bot"})},
    "api-key-detail": {
        action: Call("own:api-keys", url=_own("keys"), others=Others(ADMINS, (404,), url=_someone_elses("keys")))
        for action in ("retrieve", "destroy")
    },
    # orgs
    # a made-up token: the permission check passes, the token does not (the flow: tests/test_orgs.py)
    "invite-accept": {"post": Call("signed-in", body={"token": "inv_nope"}, ok=(400,), tenancy=PUBLIC_TOKEN)},
    "org-list": {
        "list": Call("signed-in", tenancy="lists the caller's own orgs (tests/test_tenancy.py)"),
        "create": Call("signed-in", body=lambda c: {"slug": f"new-{c.role}", "name": "New"}, tenancy="no ids"),
    },
    "org-detail": {
        "retrieve": Call("org:read"),
        "partial_update": Call("org:settings", body={"name": "Renamed"}),
    },
    "org-member-list": {"list": Call("members:read")},
    "org-member-detail": {
        "retrieve": Call("members:read", model="target"),
        "partial_update": Call("members:write", model="target", body={"skills": ["first-aid"]}),
        "destroy": Call("members:write", model="target"),
    },
    "org-invite-list": {
        "list": Call("invites"),
        "create": Call("invites", body={"email": "new@example.test", "role": "member"}),
    },
    "org-invite-detail": {"destroy": Call("invites", model="invite")},
    "org-team-list": {
        "list": Call("teams:read"),
        "create": Call("teams:write", body={"slug": "bravo", "name": "Bravo"}),
    },
    "org-team-detail": {
        "retrieve": Call("teams:read", model="team"),
        "partial_update": Call("teams:write", model="team", body={"routing_strategy": "random"}),
        "destroy": Call("teams:write", model="spare_team"),
    },
    "org-team-member-list": {
        "list": Call("teams:read", url=lambda c: {"team_slug": c.w.team.slug}),
        "create": Call(
            "teams:write",
            url=lambda c: {"team_slug": c.w.team.slug},
            body=lambda c: {"membership_id": str(c.w.members["member"].pk)},
            ids=("membership_id",),
        ),
    },
    "org-team-member-detail": {
        action: Call(spec, url=lambda c: {"team_slug": c.w.team.slug, "pk": c.w.team_member.pk}, body=body)
        for action, spec, body in [
            ("retrieve", "teams:read", None),
            ("partial_update", "teams:write", {"active": False}),
            ("destroy", "teams:write", None),
        ]
    },
    # events
    "event-list": {"list": Call("events:read")},
    "event-detail": {"retrieve": Call("events:read", model="event")},
    # signals
    "signal-beacon-ping": {"post": Call("own:signals", body={"lat": 52.5, "lng": 13.4}, ok=(200, 201))},
    "signal-beacon-stop": {"post": Call("own:signals", ok=(200, 409))},
    "push-vapid-key": {"get": Call("signed-in", tenancy="no org, no ids")},
    "signal-beacon-list": {"list": Call("own:signals")},
    "signal-beacon-detail": {"retrieve": Call("own:signals", model="beacon")},
    "signal-list": {
        "list": Call("own:signals", query_ids=("membership", "user")),
        "create": Call("own:signals", body={"type": "note", "text": "all clear"}),
    },
    "signal-detail": {"retrieve": Call("own:signals", model="signal")},
    "signal-capture": {"capture": Call("own:signals", model="signal")},
    "push-subscription-list": {
        "list": Call("own:push"),
        "create": Call(
            "own:push",
            body=lambda c: {
                "endpoint": f"https://push.example.test/sub/new-{c.role}",
                "keys": {"p256dh": "B" + "A" * 86, "auth": "c2VjcmV0c2VjcmV0MTI"},
            },
        ),
    },
    "push-subscription-detail": {
        "destroy": Call("own:push", url=_own("push"), others=Others(ADMINS, (404,), url=_someone_elses("push")))
    },
    # incidents (the same rows under /v1/incidents and /v1/tickets)
    **{
        f"{kind}-{suffix}": calls
        for kind in ("incident", "ticket")
        for suffix, calls in {
            "list": {
                "list": Call("incidents:read", query_ids=("assignee",)),
                "create": Call(
                    "incidents:create",
                    body=lambda c: {"title": "Leak", "assignee_ids": [str(c.w.members["member"].pk)]},
                    ids=("assignee_ids",),
                ),
            },
            "detail": {
                "retrieve": Call("incidents:read", model="incident"),
                "partial_update": Call(
                    "incidents:update",
                    model="incident",
                    body={"location_name": "Gate 4"},
                    ids=("assignee_id", "assignee_ids"),
                    others=NOT_ASSIGNED,
                ),
            },
            "activity": {"activity": Call("incidents:read", model="incident")},
            "assign": {
                "assign": Call(
                    "incidents:assign",
                    model="incident",
                    body=lambda c: {"assignee_ids": [str(c.w.members["scheduler"].pk)]},
                    ids=("assignee_ids",),
                    ok=(200,),
                )
            },
            "comment": {
                "comment": Call("incidents:update", model="incident", body={"body": "On my way"}, others=NOT_ASSIGNED)
            },
            "transition": {
                "transition": Call(
                    "incidents:update", model="incident", body={"status": "in_progress"}, ok=(200,), others=NOT_ASSIGNED
                )
            },
        }.items()
    },
    "incident-intake": {
        "post": Call(
            "public",
            url=lambda c: {"token": c.w.intake_token},
            body={"title": "Disk full", "fingerprint": "disk-1"},
            tenancy=PUBLIC_TOKEN,
        )
    },
    "incident-status": {
        "get": Call("public", url=lambda c: {"token": c.w.incident.customer_token}, tenancy=PUBLIC_TOKEN)
    },
    "intake-endpoint-list": {
        "list": Call("intake:manage"),
        "create": Call("intake:manage", body={"name": "grafana"}),
    },
    "intake-endpoint-detail": {"destroy": Call("intake:manage", model="intake_endpoint")},
    # dispatch: a run offering the dispatch incident to every role's member ("offers"), and
    # one every role's member has acknowledged ("on_it", for the status moves)
    "incident-dispatch": {
        "get": Call("dispatch:read", model="dispatch_incident"),
        "post": Call("dispatch", model="incident", body={}, ids=("team", "person_id")),
    },
    "assignment-link": {
        "post": Call(
            "public",
            url=lambda c: {"token": dispatch_links.link_token(c.w.offers["member"]), "link_action": "ack"},
            ok=(200,),
            tenancy="a signed link is the credential: no org, nothing to swap",
        )
    },
    "assignment-list": {
        "list": Call(
            "dispatch:read", query=lambda c: {"incident": str(c.w.dispatch_incident.pk)}, query_ids=("incident",)
        )
    },
    "assignment-detail": {"retrieve": Call("dispatch:read", url=_own("offers"))},
    "assignment-ack": {"ack": Call("dispatch:respond", url=_own("offers"), ok=(200,), others=NOT_OFFERED_TO_THEM)},
    "assignment-decline": {
        "decline": Call(
            "dispatch:respond", url=_own("offers"), body={"reason": "busy"}, ok=(200,), others=NOT_OFFERED_TO_THEM
        )
    },
    "assignment-status": {
        "status": Call(
            "dispatch:respond",
            url=_own("on_it"),
            body={"status": "en_route"},
            ok=(200,),
            others=Others(SCHEDULERS, (403,), url=_someone_elses("on_it")),
        )
    },
    "dispatch-policy-list": {
        "list": Call("dispatch:policies:read"),
        "create": Call(
            "dispatch:policies",
            body={"name": "night", "priority": "urgent", "steps": [{"type": "offer", "count": 2}]},
            ids=("team",),
        ),
    },
    "dispatch-policy-detail": {
        "retrieve": Call("dispatch:policies:read", model="dispatch_policy"),
        "partial_update": Call("dispatch:policies", model="dispatch_policy", body={"repeat": 2}, ids=("team",)),
        "destroy": Call("dispatch:policies", model="dispatch_policy"),
    },
    # bookings: exposure, hold → confirm
    "booking-dates": {
        "get": Call(
            "own:bookings",
            query=lambda c: {"location_id": str(c.w.location.pk), "person_id": str(c.w.host.pk)},
            query_ids=("location_id", "person_id"),
        )
    },
    "booking-exposed-slots": {
        "get": Call(
            "own:bookings",
            query=lambda c: {"location_id": str(c.w.location.pk), "date": SOON(c).isoformat()},
            query_ids=("location_id", "person_id"),
        )
    },
    "booking-list": {
        "create": Call(
            "own:bookings",
            body=lambda c: {"slot_id": str(c.w.slot.pk), "attendee_name": "Ann"},
            ids=("slot_id",),
            headers=lambda c: {"Idempotency-Key": secrets.token_hex(8)},
        )
    },
    "booking-detail": {
        "retrieve": Call(
            "own:bookings", url=_own("holds"), others=Others(FRONTDESK, (404,), url=_someone_elses("holds"))
        )
    },
    "booking-confirm": {
        "confirm": Call(
            "own:bookings",
            url=_own("holds"),
            ok=(200,),
            others=Others(FRONTDESK, (404,), url=_someone_elses("holds")),
            headers=lambda c: {"Idempotency-Key": secrets.token_hex(8)},
        )
    },
    # bookings: public pages' API
    "booking-person-slots": {
        "get": Call(
            "public",
            url=lambda c: {"username": c.w.host.membership.user.username, "event_slug": c.w.event_type.slug},
            query=lambda c: {"date": SOON(c).isoformat()},
            tenancy="public booking handle",
        )
    },
    "booking-team-slots": {
        "get": Call(
            "public",
            url=lambda c: {
                "org_slug": c.w.org.slug,
                "team_slug": c.w.team.slug,
                "event_slug": c.w.team_event_type.slug,
            },
            query=lambda c: {"date": SOON(c).isoformat()},
            tenancy="public booking handle",
        )
    },
    "booking-person-book": {
        "post": Call(
            "public",
            url=lambda c: {"username": c.w.host.membership.user.username, "event_slug": c.w.event_type.slug},
            body=lambda c: {
                "start_time": c.w.at(11).isoformat(),
                "attendee_name": "Bea",
                "attendee_email": "bea@example.test",
            },
            headers=lambda c: {"Idempotency-Key": secrets.token_hex(8)},
            tenancy="public booking handle",
        )
    },
    "booking-team-book": {
        "post": Call(
            "public",
            url=lambda c: {
                "org_slug": c.w.org.slug,
                "team_slug": c.w.team.slug,
                "event_slug": c.w.team_event_type.slug,
            },
            body=lambda c: {
                "start_time": c.w.at(11).isoformat(),
                "attendee_name": "Bea",
                "attendee_email": "bea@example.test",
            },
            headers=lambda c: {"Idempotency-Key": secrets.token_hex(8)},
            tenancy="public booking handle",
        )
    },
    "booking-manage": {"get": Call("public", url=lambda c: {"token": c.w.manage_token}, tenancy=PUBLIC_TOKEN)},
    "booking-manage-operation": {
        "post": Call(
            "public",
            url=lambda c: {"token": c.w.manage_token, "operation": "cancel"},
            ok=(200,),
            tenancy=PUBLIC_TOKEN,
        )
    },
    "booking-host-decision": {
        "post": Call(
            "public",
            url=lambda c: {"token": c.w.host_token, "decision": "confirm"},
            ok=(200,),
            tenancy=PUBLIC_TOKEN,
        )
    },
    # schedule
    # planning (daily schedules): writes carry If-Match with the schedule's rev (1 in World)
    "schedule-optimization": {
        "get": Call(
            "schedule:write",
            query=lambda c: {"date": c.w.day.isoformat(), "time_limit_ms": 100},
            query_ids=("team",),
            not_ids={"people": "comma-separated person ids: covered in tests/planning"},
        )
    },
    "daily-schedule-list": {
        "list": Call("planning:read", query_ids=("team",)),
        "create": Call("schedule:write", body=lambda c: {"date": c.w.day.isoformat()}, ok=(200,), ids=("team",)),
    },
    "daily-schedule-detail": {"retrieve": Call("planning:read", model="daily_schedule")},
    "daily-schedule-assignments": {
        "assignments": Call(
            "schedule:write", model="daily_schedule", body={"assignments": []}, headers=IF_MATCH_1, ok=(200,)
        ),
        "assign": Call(
            "schedule:write",
            model="daily_schedule",
            headers=IF_MATCH_1,
            ok=(200,),
            body=lambda c: {
                "person_id": str(c.w.host.pk),
                "work_item": {"type": "incident", "id": str(c.w.unassigned_incident.pk)},
                "start": c.w.at(13).isoformat(),
                "end": c.w.at(14).isoformat(),
                "location_id": str(c.w.location.pk),
            },
            ids=("person_id", "location_id"),
        ),
    },
    "daily-schedule-unassign": {
        "unassign": Call(
            "schedule:write",
            url=lambda c: {"pk": c.w.daily_schedule.pk, "assignment_id": c.w.assignment.pk},
            headers=IF_MATCH_1,
            ok=(200,),
        )
    },
    "daily-schedule-publish": {
        "publish": Call("schedule:write", model="daily_schedule", headers=IF_MATCH_1, ok=(200,))
    },
    "schedule-request-list": {
        "list": Call("planning:read"),
        "create": Call(
            "schedule:write",
            body=lambda c: {"date": c.w.day.isoformat(), "constraints": {"time_limit_ms": 100}},
            ok=(202,),
        ),
    },
    "schedule-request-detail": {"retrieve": Call("planning:read", model="schedule_request")},
    "schedule-request-apply": {
        "apply": Call("schedule:write", model="schedule_request", headers=IF_MATCH_1, ok=(200,))
    },
    "optimization-run-list": {"list": Call("planning:read")},
    "optimization-run-detail": {"retrieve": Call("planning:read", model="optimization_run")},
    "work-requirement-list": {
        "list": Call("planning:read"),
        "create": Call(
            "schedule:write",
            body=lambda c: {"work_item": {"type": "incident", "id": str(c.w.incident.pk)}, "skills": ["gas"]},
            ok=(200,),
            ids=("location_id",),
        ),
    },
    "work-requirement-detail": {
        "retrieve": Call("planning:read", model="work_requirement"),
        "destroy": Call("schedule:write", model="work_requirement"),
    },
    # GET /v1/schedule-conflicts: with start/end the live check (any member; scheduling's
    # ScheduleConflictView), without them the stored conflicts (frontdesk and up: tests/planning)
    "schedule-conflict-list": {
        "list": Call(
            "schedule:read",
            query=lambda c: {**WINDOW(c), "person": str(c.w.members["member"].pk)},
            query_ids=("person", "team"),
        )
    },
    "schedule-conflict-detail": {"retrieve": Call("planning:read", model="schedule_conflict")},
    "schedule-conflict-resolve": {
        "resolve": Call(
            "schedule:write",
            body=lambda c: {"conflict_id": str(c.w.schedule_conflict.pk), "resolution": "accept"},
            headers=IF_MATCH_1,
            ok=(200,),
            ids=("conflict_id", "person_id"),
        )
    },
    "schedule-feed-ics": {"get": Call("public", url=lambda c: {"token": c.w.feed_token}, tenancy=PUBLIC_TOKEN)},
    "schedule-entry-list": {
        "list": Call("schedule:read", query=WINDOW, query_ids=("assignee", "team")),
        "create": Call(
            "schedule:write",
            body=lambda c: {
                "title": "Inspection",
                "start": (c.w.entry_start + timedelta(days=1)).isoformat(),
                "end": (c.w.entry_start + timedelta(days=1, hours=1)).isoformat(),
                "assignee_ids": [str(c.w.members["member"].pk)],
                "incident_id": str(c.w.incident.pk),
                "force": True,
            },
            ids=("assignee_ids", "incident_id"),
        ),
    },
    "schedule-entry-import-ics": {
        "import_ics": Call(
            "schedule:write",
            fmt="multipart",
            body=lambda c: {"file": c.w.ics_file()},
            query=lambda c: {"assignee": str(c.w.members["member"].pk)},
            query_ids=("assignee",),
        )
    },
    "schedule-entry-detail": {
        "retrieve": Call(
            "schedule:read",
            model="entry",
            others=Others(FRONTDESK, (404,), url=lambda c: {"pk": c.w.private_entry.pk}),  # private, not theirs
        ),
        "partial_update": Call(
            "schedule:write",
            model="entry",
            body=lambda c: {"title": "Moved", "assignee_ids": [str(c.w.members["member"].pk)], "force": True},
            ids=("assignee_ids", "incident_id"),
        ),
        "destroy": Call("schedule:write", model="entry"),
    },
    "schedule-feed-list": {
        "list": Call("own:schedule-feeds"),
        "create": Call(
            "own:schedule-feeds",
            body={},
            ids=("membership_id", "team_id"),
            others=Others(SCHEDULERS, (403,), body=lambda c: {"membership_id": str(c.w.target.pk)}),
        ),
    },
    "schedule-feed-detail": {
        "destroy": Call(
            "own:schedule-feeds", url=_own("feeds"), others=Others(SCHEDULERS, (404,), url=_someone_elses("feeds"))
        )
    },
    # admin API: scheduling set-up
    "admin-slots-generate": {
        "post": Call(
            "setup:write",
            body=lambda c: {
                "location_id": str(c.w.location.pk),
                "person_id": str(c.w.host.pk),
                "date_from": SOON(c).isoformat(),
                "date_to": SOON(c).isoformat(),
            },
            ids=("location_id", "person_id"),
            ok=(200,),
        )
    },
    "admin-location-list": {
        "list": Call("setup:read"),
        "create": Call("setup:write", body={"name": "Annex", "timezone": "Europe/Berlin"}),
    },
    "admin-location-detail": {
        "retrieve": Call("setup:read", model="location"),
        "partial_update": Call("setup:write", model="location", body={"name": "Renamed"}),
        "destroy": Call("setup:write", model="spare_location"),
    },
    "admin-person-list": {
        "list": Call("setup:read", query_ids=("location_id",)),
        "create": Call(
            "setup:write",
            body=lambda c: {"membership_id": str(c.w.target.pk), "location_id": str(c.w.location.pk)},
            ids=("membership_id", "location_id"),
        ),
    },
    "admin-person-detail": {
        "retrieve": Call("setup:read", model="host"),
        "partial_update": Call(
            "setup:write",
            model="host",
            body=lambda c: {"location_id": str(c.w.spare_location.pk)},
            ids=("location_id",),
        ),
    },
    "admin-availability-list": {
        "list": Call("setup:read", query_ids=("location_id", "person_id")),
        "create": Call(
            "setup:write",
            body=lambda c: {
                "location_id": str(c.w.spare_location.pk),
                "person_id": str(c.w.host.pk),
                "rule_kind": "WEEKLY",
                "days_of_week": [6],
                "start_time": "09:00",
                "end_time": "12:00",
            },
            ids=("location_id", "person_id"),
        ),
    },
    "admin-availability-detail": {
        "retrieve": Call("setup:read", model="rule"),
        "destroy": Call("setup:write", model="rule"),
    },
    "admin-slot-list": {"list": Call("setup:read", query_ids=("location_id", "person_id"))},
    "admin-slot-detail": {"retrieve": Call("setup:read", model="slot")},
    # admin API: bookings
    "admin-event-type-list": {
        "list": Call("setup:read"),
        "create": Call(
            "setup:write",
            body=lambda c: {
                "slug": "checkup",
                "title": "Check-up",
                "duration_minutes": 30,
                "person_id": str(c.w.host.pk),
                "location_id": str(c.w.location.pk),
            },
            ids=("person_id", "team_id", "location_id"),
        ),
    },
    "admin-event-type-detail": {
        "retrieve": Call("setup:read", model="event_type"),
        "partial_update": Call(
            "setup:write",
            model="event_type",
            body=lambda c: {"location_id": str(c.w.location.pk)},
            ids=("location_id",),
        ),
        "destroy": Call("setup:write", model="spare_event_type"),
    },
    "admin-event-type-rotate-webhook-secret": {
        "rotate_webhook_secret": Call("webhooks", model="hooked_event_type", ok=(200,))
    },
    "admin-booking-list": {"list": Call("bookings:admin", query_ids=("person_id", "event_type_id", "location_id"))},
    "admin-booking-detail": {
        "retrieve": Call("bookings:admin", model="booking"),
        "partial_update": Call(
            "bookings:admin",
            url=lambda c: {"pk": c.w.holds["owner"].pk},
            model="holds",
            body=lambda c: {"action": "reschedule", "slot_id": str(c.w.other_slot.pk)},
            ids=("slot_id",),
        ),
    },
    "admin-webhook-list": {
        "list": Call("webhooks"),
        "create": Call("webhooks", body={"url": "http://127.0.0.1:9/new-hook"}),
    },
    "admin-webhook-detail": {
        "retrieve": Call("webhooks", model="endpoint"),
        "partial_update": Call("webhooks", model="endpoint", body={"active": False}),
        "destroy": Call("webhooks", model="endpoint"),
    },
    "admin-webhook-rotate-secret": {"rotate_secret": Call("webhooks", model="endpoint", ok=(200,))},
    "admin-webhook-delivery-list": {"list": Call("webhooks", query_ids=("endpoint_id", "event_id"))},
    "admin-webhook-delivery-detail": {"retrieve": Call("webhooks", model="delivery")},
    "admin-webhook-delivery-redeliver": {"redeliver": Call("webhooks", model="delivery", ok=(202,))},
    # calendars: each member's own connection; anyone else's is 404 whatever the role
    "calendar-connection-list": {"list": Call("own:calendars")},
    "calendar-connection-detail": {
        action: Call(
            "own:calendars",
            url=_own("calendar_connections"),
            body=body,
            others=Others(frozenset(), (404,), url=_someone_elses("calendar_connections")),
        )
        for action, body in [
            ("retrieve", None),
            ("partial_update", {"calendars": [{"calendar_id": "primary@example.test", "check_conflicts": False}]}),
            ("destroy", None),
        ]
    },
    "calendar-connection-sync": {
        "sync": Call(
            "own:calendars",
            url=_own("calendar_connections"),
            ok=(202,),
            others=Others(frozenset(), (404,), url=_someone_elses("calendar_connections")),
        )
    },
}


# --- one org with an object for every route ---------------------------------------------

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//matrix//EN\r\nBEGIN:VEVENT\r\nUID:matrix-1@example.test\r\n"
    "DTSTART:20300105T090000Z\r\nDTEND:20300105T100000Z\r\nSUMMARY:Imported\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


class World:
    """One org with a member (and an API key) per role and an object for every route."""

    def __init__(self):
        org = self.org = OrgFactory()
        self.members = {role: MembershipFactory(org=org, role=role) for role in ROLES}
        self.keys, self.raw_keys = {}, {}
        for role, membership in self.members.items():
            self.keys[role], self.raw_keys[role] = api_key_create(actor=actor_for(membership), name=f"matrix-{role}")
        admin = actor_for(self.members["owner"])
        self.target = MembershipFactory(org=org, role=Role.MEMBER)
        self.api_key = self.keys["member"]
        # orgs
        self.team, self.spare_team = TeamFactory(org=org), TeamFactory(org=org)
        self.team_member = TeamMember.objects.create(org=org, team=self.team, membership=self.target)
        self.invite = Invite.objects.create(
            org=org,
            email="invitee@example.test",
            token_hash=secrets.token_hex(32),
            expires_at=timezone.now() + timedelta(days=1),
        )
        self.event = Event.objects.create(org=org, type="test.matrix", data={"secret": org.slug})
        # scheduling: a host with availability every day 9–17 (Berlin), slots, rules
        self.location, self.spare_location = make_location(org), make_location(org, name="Spare")
        self.host = make_person(org, self.location, username=f"host-{org.slug}")
        self.rule = make_rule(self.location, self.host)
        self.day = (timezone.now() + timedelta(days=2)).date()
        self.slot = make_slot(self.location, capacity=50, start=self.at(14))
        self.other_slot = make_slot(self.location, capacity=50, start=self.at(15))
        # bookings
        self.event_type = make_event_type(org, person=self.host, slug="intro")
        self.spare_event_type = make_event_type(org, person=self.host, slug="spare")
        self.hooked_event_type = make_event_type(
            org, person=self.host, slug="hooked", webhook_url="http://127.0.0.1:9/event-type-hook"
        )
        TeamMember.objects.create(org=org, team=self.team, membership=self.host.membership)
        self.team_event_type = make_event_type(org, team=self.team, slug="triage")
        self.booking, self.manage_token = booking_services.booking_book(
            event_type=self.event_type, start_at=self.at(9), attendee_name="Ann", attendee_email="ann@example.test"
        )
        confirming = make_event_type(org, person=self.host, slug="confirm", requires_confirmation=True)
        pending, _ = booking_services.booking_book(
            event_type=confirming, start_at=self.at(10), attendee_name="Cy", attendee_email="cy@example.test"
        )
        self.host_token = host_token(pending)
        self.holds = {
            role: booking_services.booking_hold(actor_or_none=actor_for(m), slot=self.slot, attendee_name=role)
            for role, m in self.members.items()
        }
        self.endpoint = WebhookEndpoint.objects.create(org=org, url="http://127.0.0.1:9/hook", secret="whsec_c2VjcmV0")
        self.delivery = WebhookDelivery.objects.create(
            org=org, event=self.event, endpoint=self.endpoint, url="http://127.0.0.1:9/hook"
        )
        # incidents: assigned to every role's member, so a member may update it
        self.incident = make_incident(org, title=f"{org.slug} secret incident", assignees=list(self.members.values()))
        self.unassigned_incident = make_incident(org, title=f"{org.slug} unassigned incident")
        self.intake_endpoint, self.intake_token = incident_services.intake_endpoint_create(actor=admin, name="matrix")
        # dispatch: an offer to every role's member (a Person each), and a run they all took
        self.dispatch_policy = make_policy(org, name=f"{org.slug} secret policy")
        self.dispatch_incident = make_incident(org, title=f"{org.slug} dispatched incident")
        taken_incident = make_incident(org, title=f"{org.slug} taken incident")
        people = {
            role: Person.objects.create(org=org, membership=m, location=self.location, name=role)
            for role, m in self.members.items()
        }
        now = timezone.now()
        snapshot = dispatch_selectors.policy_snapshot(self.dispatch_policy)
        offering = Dispatch.objects.create(
            org=org, incident=self.dispatch_incident, policy_snapshot=snapshot, started_by="matrix"
        )
        taken = Dispatch.objects.create(
            org=org, incident=taken_incident, policy_snapshot=snapshot, started_by="matrix", state="acknowledged"
        )
        self.offers, self.on_it = {}, {}
        for role, m in self.members.items():
            common = {"org": org, "person": people[role], "membership": m, "offered_at": now}
            self.offers[role] = Assignment.objects.create(
                dispatch=offering, incident=self.dispatch_incident, ack_deadline=now + timedelta(hours=1), **common
            )
            self.on_it[role] = Assignment.objects.create(
                dispatch=taken, incident=taken_incident, ack_deadline=now, state="acknowledged", **common
            )
        # schedule
        self.entry_start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        self.entry = make_entry(
            org, title=f"{org.slug} secret entry", start=self.entry_start, assignees=[self.members["member"]]
        )
        self.private_entry = make_entry(
            org, title="private", start=self.entry_start, private=True, assignees=[self.members["scheduler"]]
        )
        self.feeds = {}
        for role, m in self.members.items():
            self.feeds[role], raw = ical.schedule_feed_create(actor=actor_for(m), membership=m)
        self.feed_token = raw
        # planning: a day's schedule with one assignment and a conflict, a proposal for it
        self.daily_schedule = DailySchedule.objects.create(org=org, date=self.day)
        # an entry on the day with an override, so planning's entry reads run at the baseline too
        self.open_shift = make_entry(org, title="late shift", start=self.at(17), end=self.at(18))
        self.open_shift.overrides.create(org=org, original_start=self.at(17), cancelled=True)
        # and the host is busy for a while that day, so free/busy reads their entries' assignees too
        make_entry(
            org,
            title="host busy",
            start=self.at(16),
            end=self.at(16) + timedelta(minutes=10),
            assignees=[self.host.membership],
        )
        self.assignment = ScheduleAssignment.objects.create(
            org=org,
            schedule=self.daily_schedule,
            person=self.host,
            incident=self.unassigned_incident,
            start=self.at(11),
            end=self.at(12),
        )
        self.schedule_conflict = ScheduleConflict.objects.create(
            org=org,
            schedule=self.daily_schedule,
            type="skill_missing",
            work_ref=f"incident:{self.unassigned_incident.pk}",
            details={"secret": org.slug},
        )
        self.schedule_request = ScheduleRequest.objects.create(
            org=org,
            date=self.day,
            schedule=self.daily_schedule,
            base_rev=1,
            requested_by_label="matrix",
            status="succeeded",
            result={"assignments": [], "unassigned": []},
        )
        self.optimization_run = OptimizationRun.objects.create(
            org=org, request=self.schedule_request, date=self.day, algorithm="greedy", started_at=timezone.now()
        )
        self.work_requirement = WorkRequirement.objects.create(org=org, incident=self.incident, skills=["first-aid"])
        # signals
        self.signal = make_signal(org, membership=self.members["member"])
        self.beacon = make_beacon(org, membership=self.members["member"])
        self.calendar_connections = {  # not active, no tokens: nothing reaches Google
            role: make_connection(m, status=CalendarConnection.Status.NEEDS_RECONSENT)
            for role, m in self.members.items()
        }
        self.push = {
            role: make_push_subscription(org, user=m.user, endpoint=f"https://push.example.test/{org.slug}/{role}")
            for role, m in self.members.items()
        }

    def at(self, hour: int) -> datetime:
        """`hour` o'clock on the bookable day, in the host's zone (Europe/Berlin)."""
        return datetime(self.day.year, self.day.month, self.day.day, hour, tzinfo=ZoneInfo("Europe/Berlin"))

    def ics_file(self):
        return SimpleUploadedFile("matrix.ics", ICS.encode(), content_type="text/calendar")


# --- building a request from a declaration ----------------------------------------------


def context(world: World, role: str | None) -> SimpleNamespace:
    me = world.members.get(role) if role else None
    return SimpleNamespace(w=world, role=role, me=me, key=world.keys.get(role) if role else None)


def resolve(value, ctx):
    return value(ctx) if callable(value) else value


def url_kwargs(route: Route, call: Call, ctx) -> dict:
    kwargs = dict(resolve(call.url, ctx) or {})
    cls = route.cls
    org_kwarg = getattr(cls, "org_url_kwarg", None)
    if org_kwarg in route.kwarg_names and org_kwarg not in kwargs:
        kwargs[org_kwarg] = ctx.w.org.slug
    lookup = getattr(cls, "lookup_url_kwarg", None) or getattr(cls, "lookup_field", "pk")
    if lookup in route.kwarg_names and lookup not in kwargs and call.model:
        obj = getattr(ctx.w, call.model)
        kwargs[lookup] = getattr(obj, getattr(cls, "lookup_field", "pk"))
    return kwargs


def declaration(route: Route, action: str) -> Call | None:
    return ROUTES.get(route.name, {}).get(action)


@dataclass
class Case:
    route: Route
    method: str
    action: str
    call: Call

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.route.path}"


def cases() -> list[Case]:
    """Every declared (route, method): the parametrization of the matrix and the harness."""
    found = []
    for route in api_routes():
        for method, action in route.methods_and_actions:
            call = declaration(route, action)
            if call is not None:
                found.append(Case(route, method, action, call))
    return found


def request(client, case: Case, ctx, *, kwargs=None, body=None, query=None, headers=None):
    """Send the declared call; kwargs/body/query replace the declared ones when given."""
    kwargs = url_kwargs(case.route, case.call, ctx) if kwargs is None else kwargs
    path = reverse(case.route.name, kwargs=kwargs)
    body = resolve(case.call.body, ctx) if body is None else body
    query = resolve(case.call.query, ctx) if query is None else query
    if query:
        path += "?" + urlencode(query, doseq=True)
    headers = {**(resolve(case.call.headers, ctx) or {}), **(headers or {})}
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    send = getattr(client, case.method)
    if case.method == "get":
        return send(path, **headers)
    if case.call.fmt == "multipart":
        return send(path, body or {}, format="multipart", **headers)
    return send(path, body if body is not None else {}, format="json", **headers)


class Clients:
    """`clients["owner"]` (API key), `clients["member/session"]` (session cookie), `clients[None]`
    (anonymous). One client each (building one loads the middleware stack), its cookies
    reset on every access, so a response's cookies (logout's, say) never reach the next call."""

    def __init__(self, world):
        self.world, self.made = world, {}

    def __getitem__(self, who: str | None) -> APIClient:
        client = self.made.get(who)
        if client is None:
            client = self.made[who] = APIClient()
            if who is not None and not who.endswith("/session"):
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.world.raw_keys[who]}")
        client.cookies = SimpleCookie()
        if who is not None and who.endswith("/session"):
            client.cookies[settings.SESSION_COOKIE_NAME] = self.world.sessions[who.partition("/")[0]]
        return client


@contextmanager
def module_world(django_db_blocker, media_root, *, orgs: int = 1):
    """Worlds shared by a whole test module: built once inside a transaction that is rolled
    back when the module ends; each test runs in its own savepoint (plain `django_db`), so
    whatever a call writes is gone before the next. Use only from module-scoped fixtures,
    in modules without `transaction=True` tests."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media_root), transaction.atomic():
        worlds = [World() for _ in range(orgs)]
        for world in worlds:
            world.sessions = {}
            for role in SESSION_ROLES:  # signed in through the browser flow: a session cookie
                client = APIClient()
                client.force_login(world.members[role].user)
                world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            world.clients = Clients(world)
        try:
            yield worlds
        finally:
            transaction.set_rollback(True)
