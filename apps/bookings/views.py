"""Public booking pages (no login): pick a date and a time, book, then manage the booking
from the emailed links. One view serves the full page and its htmx slot-list partial."""

import zoneinfo
from datetime import date, datetime, timedelta

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from apps.bookings import selectors, services
from apps.bookings.api.views import PersonBookView, TeamBookView
from apps.bookings.emails import manage_urls
from apps.orgs.models import validate_timezone
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


def _day(request, tz_name: str) -> date:
    """The day asked for (?date=), or tomorrow when it is absent, malformed or out of range."""
    return parse_day(request.GET.get("date")) or (
        timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).date() + timedelta(days=1)
    )


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
    day = _day(request, tz_name)
    context = {"event_type": event_type, "day": day, "tz_name": tz_name, "form": BookForm()}
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
                    {"booking": booking, "event_type": event_type, "tz_name": tz_name, **manage_urls(raw)},
                    status=201,
                )
        else:
            status = 400
    context["slots"] = [
        {**s, "label": s["start"].astimezone(zoneinfo.ZoneInfo(tz_name)).strftime("%H:%M")}
        for s in slots_for(day, tz_name)
    ]
    context["prev_day"], context["next_day"] = day - timedelta(days=1), day + timedelta(days=1)
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

    def slots_for(day, tz_name):
        return selectors.host_slots(event_type=event_type, person=person, day=day, tz_name=tz_name)

    return _render_booking_page(request, event_type, slots_for, person.tz_name)


@csrf_protect
@require_http_methods(["GET", "POST"])
def team_book_page(request, org_slug, team_slug, event_slug):
    event_type = selectors.team_event_type(org_slug=org_slug, team_slug=team_slug, slug=event_slug)

    def slots_for(day, tz_name):
        return selectors.team_slots(event_type=event_type, day=day, tz_name=tz_name)

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
                start = datetime.fromisoformat(request.POST.get("start_time", ""))
                if start.tzinfo is None:
                    raise Problem(400, "VALIDATION_ERROR", "Invalid input", "start_time needs a UTC offset.")
                if moment_problem(start):
                    raise Problem(400, "VALIDATION_ERROR", "Invalid input", f"start_time: {moment_problem(start)}")
                booking = services.booking_reschedule(actor_or_none=None, booking=booking, new_start=start)
            context.update(booking=booking, done=True)
        except ValueError:
            context["error"], status = "Pick a time from the list.", 400
        except Problem as problem:
            context["error"], status = problem.detail, problem.status_code
    if operation == "reschedule" and booking.event_type_id and booking.status in ("pending", "confirmed"):
        day = _day(request, tz_name)
        slots = selectors.host_slots(
            event_type=booking.event_type, person=booking.person, day=day, tz_name=tz_name, exclude_pk=booking.pk
        )
        context.update(
            day=day,
            prev_day=day - timedelta(days=1),
            next_day=day + timedelta(days=1),
            slots=[{**s, "label": s["start"].astimezone(zoneinfo.ZoneInfo(tz_name)).strftime("%H:%M")} for s in slots],
        )
    return _with_retry_after(render(request, "bookings/manage.html", context, status=status), wait)


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
