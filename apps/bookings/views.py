"""Public booking pages (no login): pick a date and a time, book, then manage the booking
from the emailed links. One view serves the full page and its htmx slot-list partial."""

import zoneinfo
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

import schedkit.display as display
from apps.bookings import selectors, services
from apps.bookings.api.views import PersonBookView, TeamBookView
from apps.bookings.emails import manage_urls
from apps.bookings.models import Booking
from apps.orgs.models import validate_timezone
from apps.orgs.roles import SCHEDULERS
from apps.orgs.tenancy import resolve_actor
from schedkit.api.fields import BoundedFormDateTimeField, moment_problem, parse_day
from schedkit.api.problems import Problem
from schedkit.api.throttling import client_ident, rate_wait

JSON_TYPES = ("application/json", "application/problem+json")


class BookForm(forms.Form):
    start_time = BoundedFormDateTimeField()
    attendee_name = forms.CharField(max_length=200)
    attendee_email = forms.EmailField()
    attendee_phone = forms.RegexField(r"^\+?[0-9 ()-]{5,30}$", required=False)
    notes = forms.CharField(max_length=2000, required=False)


STRIP_DAYS = 14  # the date strip: two weeks of days with their free times


def _today(tz_name: str) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).date()


def _day(request, tz_name: str, param: str = "date") -> date | None:
    """The date asked for (?date=), or None: then the page opens on the first day with free times."""
    return parse_day(request.GET.get(param))  # bounded: out-of-range dates are None too


def _strip(request, tz_name: str, slots_for, *, param: str = "date", keep: dict | None = None) -> dict:
    """The date strip (STRIP_DAYS from the asked day or today, one slot query for the range),
    the chosen day (asked for, else the first day with free times) and that day's times.
    `param` names the day in the URL; `keep` are the other query parameters its links carry."""
    tz = zoneinfo.ZoneInfo(tz_name)
    today = _today(tz_name)
    asked = _day(request, tz_name, param)
    anchor = asked if asked and today <= asked else today
    if asked and asked > today + timedelta(days=STRIP_DAYS - 1):
        anchor = asked
    slots = slots_for(anchor, tz_name, anchor + timedelta(days=STRIP_DAYS - 1))
    per_day: dict[date, list] = {}
    for s in slots:
        per_day.setdefault(s["start"].astimezone(tz).date(), []).append(s)
    days = [anchor + timedelta(days=i) for i in range(STRIP_DAYS)]
    day = asked or next((d for d in days if per_day.get(d)), anchor)
    if asked and asked < today:
        day_slots = []
    else:
        day_slots = per_day.get(day, [])
    return {
        "day": day,
        "strip": [{"date": d, "count": len(per_day.get(d, []))} for d in days],
        "slots": [{**s, "label": s["start"].astimezone(tz).strftime("%H:%M")} for s in day_slots],
        "prev_day": max(today, anchor - timedelta(days=STRIP_DAYS)) if anchor > today else None,
        "next_day": anchor + timedelta(days=STRIP_DAYS),
        "first_free": next((d for d in days if per_day.get(d)), None),
        "strip_param": param,
        "strip_query": (urlencode(keep) + "&") if keep else "",
        "strip_keep": keep or {},
    }


def _reschedule_slots(booking):
    """The free start times a booking can move to: its event type's host slots, not counting the
    booking itself (the public reschedule page and the frontdesk ask the same question)."""

    def slots_for(day, tz_name, end_day):
        return selectors.host_slots(
            event_type=booking.event_type,
            person=booking.person,
            day=day,
            end_day=end_day,
            tz_name=tz_name,
            exclude_pk=booking.pk,
        )

    return slots_for


def _picked_start(value: str) -> datetime:
    """A start time picked from a slot list (ISO 8601 with its offset); ValueError if absent."""
    start = datetime.fromisoformat(value)
    if start.tzinfo is None:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "start_time needs a UTC offset.")
    if moment_problem(start):
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", f"start_time: {moment_problem(start)}")
    return start


def _host(event_type) -> dict:
    """Who and where, as the booking page shows them."""
    if event_type.person_id:
        host = event_type.person.name or display.person_name(event_type.person.membership.user)
    else:
        host = event_type.team.name if event_type.team_id else ""
    return {"host_name": host, "location_name": event_type.location.name if event_type.location_id else ""}


def _tz(request, default: str) -> str:
    name = request.GET.get("timezone") or request.POST.get("timezone") or default
    try:
        validate_timezone(name)
    except Exception:  # noqa: BLE001 - a bad zone falls back to the host's
        return default
    return name


def _booking_rate_wait(request) -> int | None:
    """Booking POSTs from pages share the API's per-address budget (THROTTLE_RATES["booking"])."""
    wait = rate_wait("booking", client_ident(request))
    return None if wait is None else int(wait) + 1


def _too_many(context: dict, wait: int) -> int:
    context["error"] = f"Too many attempts from your address; try again in {wait} seconds."
    return 429


def _with_retry_after(response, wait: int | None):
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def _render_booking_page(request, event_type, slots_for, default_tz):
    tz_name = _tz(request, default_tz)
    context = {
        "event_type": event_type,
        "tz_name": tz_name,
        "zone_asked": bool(request.GET.get("timezone") or request.POST.get("timezone")),
        "form": BookForm(),
        **_host(event_type),
    }
    status = 200
    wait = _booking_rate_wait(request) if request.method == "POST" else None
    if wait is not None:
        status = _too_many(context, wait)
    elif request.method == "POST":
        form = BookForm(request.POST)
        context["form"] = form
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                booking, raw = services.booking_book(
                    event_type=event_type,
                    start_at=data.pop("start_time"),
                    timezone_name=tz_name,
                    attendee_phone=data.pop("attendee_phone") or "",
                    notes=data.pop("notes") or "",
                    **data,
                )
            except Problem as problem:
                context["error"], status = problem.detail, problem.status_code
            else:
                return render(
                    request,
                    "bookings/booked.html",
                    {
                        "booking": booking,
                        "event_type": event_type,
                        "tz_name": tz_name,
                        **_host(event_type),
                        **manage_urls(raw),
                    },
                    status=201,
                )
        else:
            status = 400
    context.update(_strip(request, tz_name, slots_for))
    template = "bookings/partials/slots.html" if getattr(request, "htmx", False) else "bookings/book.html"
    return _with_retry_after(render(request, template, context, status=status), wait)


def _json_booking(request) -> bool:
    return request.method == "POST" and (request.content_type or "").split(";")[0].strip() in JSON_TYPES


@csrf_exempt  # a JSON call is the API's (its own auth rules); the form page below checks CSRF
def person_book(request, username, event_slug):
    """POST /book/{username}/{event_slug} with a JSON body is the booking call of the API
    (POST /v1/book/…: same service, idempotency and throttle); anything else is the page."""
    if _json_booking(request):
        return PersonBookView.as_view()(request, username=username, event_slug=event_slug)
    return person_book_page(request, username, event_slug)


@csrf_exempt
def team_book(request, org_slug, team_slug, event_slug):
    if _json_booking(request):
        return TeamBookView.as_view()(request, org_slug=org_slug, team_slug=team_slug, event_slug=event_slug)
    return team_book_page(request, org_slug, team_slug, event_slug)


@csrf_protect
@require_http_methods(["GET", "POST"])
def person_book_page(request, username, event_slug):
    event_type = selectors.person_event_type(username=username, slug=event_slug)
    person = event_type.person

    def slots_for(day, tz_name, end_day):
        return selectors.host_slots(event_type=event_type, person=person, day=day, end_day=end_day, tz_name=tz_name)

    return _render_booking_page(request, event_type, slots_for, person.tz_name)


@csrf_protect
@require_http_methods(["GET", "POST"])
def team_book_page(request, org_slug, team_slug, event_slug):
    event_type = selectors.team_event_type(org_slug=org_slug, team_slug=team_slug, slug=event_slug)

    def slots_for(day, tz_name, end_day):
        return selectors.team_slots(event_type=event_type, day=day, end_day=end_day, tz_name=tz_name)

    return _render_booking_page(request, event_type, slots_for, event_type.org.timezone)


@require_http_methods(["GET", "POST"])
def manage_page(request, token, operation):
    booking = selectors.booking_by_token(token)
    if operation not in ("cancel", "reschedule"):
        raise Http404
    tz_name = booking.timezone or (booking.person.tz_name if booking.person_id else "UTC")
    context = {"booking": booking, "operation": operation, "tz_name": tz_name, "token": token}
    status = 200
    wait = _booking_rate_wait(request) if request.method == "POST" else None
    if wait is not None:
        status = _too_many(context, wait)
    elif request.method == "POST":
        try:
            if operation == "cancel":
                booking = services.booking_cancel(
                    actor_or_none=None, booking=booking, reason=request.POST.get("reason", "")[:500]
                )
            else:
                start = _picked_start(request.POST.get("start_time", ""))
                booking = services.booking_reschedule(actor_or_none=None, booking=booking, new_start=start)
            context.update(booking=booking, done=True)
        except ValueError:
            context["error"], status = "Pick a time from the list.", 400
        except Problem as problem:
            context["error"], status = problem.detail, problem.status_code
    if operation == "reschedule" and booking.event_type_id and booking.status in ("pending", "confirmed"):
        context.update(_strip(request, tz_name, _reschedule_slots(booking)))
    return _with_retry_after(render(request, "bookings/manage.html", context, status=status), wait)


FRONTDESK_LIMIT = 200


def _frontdesk_filters(request, tz) -> dict:
    """The bookings list's filters from the URL: day (in the org's zone), person, status, email."""
    filters = {}
    day = _day(request, tz.key)
    if day:
        filters["start_after"] = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        filters["start_before"] = filters["start_after"] + timedelta(days=1)
    for field in ("person_id", "status"):
        if request.GET.get(field):
            filters[field] = request.GET[field][:64]
    if request.GET.get("email"):
        filters["email"] = request.GET["email"].strip()[:254]
    return filters


@login_required
@require_http_methods(["GET", "POST"])
def frontdesk(request):
    """Frontdesk: the org's bookings (filtered, cancel / reschedule in place) and its event
    types and availability with their public links. Schedulers and admins."""
    try:
        actor = resolve_actor(request, require_org=True)
        if actor.role not in SCHEDULERS:
            raise Problem(403, "FORBIDDEN", "Forbidden", "The frontdesk is for schedulers and admins.")
    except Problem as problem:
        return render(request, "incidents/problem.html", {"problem": problem}, status=problem.status_code)
    tz = display.staff_zone(user=request.user, org=actor.org)
    message, error, status, moved = "", "", 200, False
    if request.method == "POST":
        try:
            booking = selectors.access_booking(actor, request.POST.get("booking_id", ""))
            if request.POST.get("action") == "cancel":
                services.booking_cancel(
                    actor_or_none=actor, booking=booking, reason=request.POST.get("reason", "")[:500]
                )
                message = f"Cancelled the booking of {booking.attendee_name}."
            elif request.POST.get("action") == "reschedule":
                new_start = _picked_start(request.POST.get("start_time", ""))
                services.booking_reschedule(actor_or_none=actor, booking=booking, new_start=new_start)
                message = f"Moved the booking of {booking.attendee_name} to {display.format_when(new_start, tz)}."
                moved = True
            else:
                raise Problem(400, "VALIDATION_ERROR", "Invalid input", "Unknown action.")
        except ValueError:
            error, status = "Pick one of the free times.", 400
        except (Problem, Http404) as problem:
            error = str(getattr(problem, "detail", "") or "Booking not found.")
            status = getattr(problem, "status_code", 404)
    filters = _frontdesk_filters(request, tz)
    try:
        bookings = list(selectors.booking_list(actor=actor, filters=filters).order_by("start_at")[:FRONTDESK_LIMIT])
    except (ValueError, DjangoValidationError):
        bookings, error = [], error or "Check the filters."
    rescheduling = None if moved else _frontdesk_rescheduling(request, actor, tz)
    if rescheduling and rescheduling.get("error"):
        error, status = error or rescheduling["error"], 404 if status == 200 else status
    if request.htmx and request.htmx.target == "reschedule-panel":
        partial = {"org": actor.org, "tz": tz, "keep": urlencode(_kept(request)), **(rescheduling or {})}
        return render(request, "bookings/partials/reschedule.html", partial, status=status)
    event_types = selectors.frontdesk_event_types(actor=actor)
    people = {et.person_id: et.person for et in event_types if et.person_id}
    context = {
        "org": actor.org,
        "tz": tz,
        "bookings": bookings,
        "limit": FRONTDESK_LIMIT,
        "filters": request.GET,
        "statuses": Booking.Status.choices,
        "people": sorted(people.values(), key=lambda p: p.name),
        "event_types": event_types,
        "base_url": settings.PUBLIC_BASE_URL,
        "message": message,
        "error": error,
        "rescheduling": bool(rescheduling and rescheduling.get("booking")),
        **{k: v for k, v in (rescheduling or {}).items() if k != "error"},
        "keep": urlencode(_kept(request)),
    }
    return render(request, "bookings/frontdesk.html", context, status=status)


FRONTDESK_FILTERS = ("date", "person_id", "status", "email")


def _kept(request) -> dict:
    """The org and the list's filters: what the frontdesk's own links carry along."""
    return {k: v for k, v in request.GET.items() if k in ("org", *FRONTDESK_FILTERS)}


def _frontdesk_rescheduling(request, actor, tz) -> dict | None:
    """?reschedule=<booking id>: the booking and its free times (a date strip over ?move_date=),
    from the same slot query as the public reschedule page, in the staff zone."""
    booking_id = request.GET.get("reschedule", "")
    if not booking_id:
        return None
    try:
        booking = selectors.access_booking(actor, booking_id[:64])
    except Http404:
        return {"error": "Booking not found."}
    context = {"booking": booking, "tz_name": tz.key}
    if not booking.event_type_id:
        context["unavailable"] = "A slot booking moves to another slot, not to a free time."
    elif booking.current_status not in ("pending", "confirmed"):
        context["unavailable"] = f"This booking is {display.label(booking.current_status).lower()}."
    else:
        keep = {**_kept(request), "reschedule": str(booking.pk)}
        context.update(_strip(request, tz.key, _reschedule_slots(booking), param="move_date", keep=keep))
    return context


def without_trailing_slash(request, path):
    """/book/…/ and /status/…/ (as people and the README write them) → the canonical URL
    without the slash; 308 keeps a POST a POST."""
    target = "/" + path + (("?" + request.META["QUERY_STRING"]) if request.META.get("QUERY_STRING") else "")
    return HttpResponseRedirect(target, status=301 if request.method in ("GET", "HEAD") else 308)


@require_http_methods(["GET", "POST"])
def host_decision_page(request, token, decision):
    booking = selectors.access_booking_by_host_token(token, decision)
    context, status = {"booking": booking, "decision": decision}, 200
    if request.method == "POST":
        try:
            context["booking"] = services.booking_host_decision(booking=booking, accept=decision == "confirm")
            context["done"] = True
        except Problem as problem:
            context["error"], status = problem.detail, problem.status_code
    return render(request, "bookings/host_decision.html", context, status=status)


@require_GET
@login_required
def bookings_feed(request):
    """The schedule calendar's read-only booking layer: the org's live bookings in [start, end)."""
    try:
        actor = resolve_actor(request, require_org=True)
        start = datetime.fromisoformat(request.GET.get("start", "").replace("Z", "+00:00"))
        end = datetime.fromisoformat(request.GET.get("end", "").replace("Z", "+00:00"))
    except Problem as problem:
        return JsonResponse({"code": problem.code, "detail": str(problem.detail)}, status=problem.status_code)
    except ValueError:
        return JsonResponse({"code": "VALIDATION_ERROR", "detail": "start and end must be ISO 8601."}, status=400)
    if actor.role not in SCHEDULERS:
        return JsonResponse({"results": []})
    rows = selectors.booking_list(actor=actor, filters={"start_after": start, "start_before": end})
    results = [
        {
            "id": str(b.pk),
            "title": f"{b.event_type.title if b.event_type_id else 'Booking'} · {b.attendee_name}",
            "start": b.start_at.isoformat(),
            "end": b.end_at.isoformat(),
            "status": b.status,
        }
        for b in rows.filter(status__in=("pending", "confirmed"))[:500]
    ]
    return JsonResponse({"results": results})
