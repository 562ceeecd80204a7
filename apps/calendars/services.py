"""Every write of calendar sync: connect (consent start/complete), choose calendars,
disconnect, refresh the busy cache, and reconcile a booking's event in Google.

Lock order: a CalendarEventLink row (select_for_update) is the only lock taken, never
together with booking locks — a write task reads the booking without locking it and makes
Google match its current state, so deliveries may arrive late, twice or out of order."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.bookings.emails import booking_manage_urls
from apps.bookings.models import Booking
from apps.calendars import google
from apps.calendars.models import BusyBlock, CalendarConnection, CalendarEventLink, ConnectedCalendar
from apps.orgs.models import Membership
from schedkit.api.problems import Problem

logger = logging.getLogger(__name__)
Status = CalendarConnection.Status


def _not_configured() -> Problem:
    return Problem(
        409,
        "CALENDAR_NOT_CONFIGURED",
        "Google Calendar is not configured",
        "Set GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET.",
    )


def connection_start(*, actor) -> str:
    """Begin consent for the actor's own Google account; returns the URL to send them to."""
    if not settings.GOOGLE_OAUTH_CLIENT_ID or not settings.GOOGLE_OAUTH_CLIENT_SECRET:
        raise _not_configured()
    membership = Membership.objects.get(pk=actor.membership_id, org_id=actor.org_id)
    state = secrets.token_urlsafe(32)
    url, verifier = google.authorization_url(state=state)
    with transaction.atomic():
        connection, _ = CalendarConnection.objects.select_for_update().get_or_create(
            org_id=actor.org_id, membership=membership, provider="google"
        )
        connection.oauth_state, connection.oauth_verifier = state, verifier or ""
        connection.full_clean()
        connection.save()
    return url


def connection_complete(*, actor, state: str, code: str) -> CalendarConnection:
    """The consent callback: `state` must be the one this user's pending consent holds."""
    connection = CalendarConnection.objects.for_actor(actor).filter(provider="google").exclude(oauth_state="").first()
    if connection is None or not state or not secrets.compare_digest(connection.oauth_state, state):
        raise Problem(400, "OAUTH_STATE_MISMATCH", "Consent expired", "Start connecting your calendar again.")
    try:
        tokens = google.exchange_code(code=code, state=state, code_verifier=connection.oauth_verifier or None)
    except google.GoogleRequestError:
        raise Problem(400, "OAUTH_CODE_INVALID", "Consent failed", "Google refused the consent; try again.") from None
    with transaction.atomic():
        connection = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        _store_tokens(connection, tokens, keep_refresh=True)
        connection.oauth_state = connection.oauth_verifier = ""
        connection.status = Status.ACTIVE
        connection.last_error = ""
        connection.full_clean()
        connection.save()
    connection_sync(connection_id=connection.pk)
    return CalendarConnection.objects.get(pk=connection.pk)


def _store_tokens(connection: CalendarConnection, tokens: dict, *, keep_refresh: bool) -> None:
    connection.access_token = tokens["access_token"]
    if tokens["refresh_token"] or not keep_refresh:
        connection.refresh_token = tokens["refresh_token"]
    connection.token_expires_at = tokens["expires_at"]
    if tokens["scopes"]:
        connection.scopes = tokens["scopes"]


def _client(connection: CalendarConnection) -> google.Calendar:
    return google.Calendar(
        google.credentials(
            access_token=connection.access_token,
            refresh_token=connection.refresh_token,
            expires_at=connection.token_expires_at,
            scopes=connection.scopes,
        )
    )


def _save_refreshed(connection: CalendarConnection, client: google.Calendar) -> None:
    tokens = client.tokens()
    if tokens["access_token"] and tokens["access_token"] != connection.access_token:
        _store_tokens(connection, tokens, keep_refresh=True)
        CalendarConnection.objects.filter(pk=connection.pk).update(
            access_token_enc=connection.access_token_enc,
            refresh_token_enc=connection.refresh_token_enc,
            token_expires_at=connection.token_expires_at,
            updated_at=timezone.now(),
        )


def connection_needs_reconsent(*, connection: CalendarConnection, error: str) -> None:
    """The grant is gone: stop blocking with its busy time and tell the user."""
    logger.warning("calendar connection %s needs re-consent: %s", connection.pk, error)
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=Status.NEEDS_RECONSENT,
        last_error=f"Google access was revoked or expired: reconnect your calendar. ({error})"[:500],
        last_error_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _record_error(connection: CalendarConnection, error: str) -> None:
    CalendarConnection.objects.filter(pk=connection.pk).update(
        last_error=error[:500], last_error_at=timezone.now(), updated_at=timezone.now()
    )


def connection_update(*, actor, connection: CalendarConnection, calendars=None, write_entries=None):
    """Choose the calendars checked for conflicts and the one written to (at most one)."""
    with transaction.atomic():
        connection = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        if write_entries is not None:
            connection.write_entries = write_entries
            connection.save(update_fields=["write_entries", "updated_at"])
        if calendars:
            mine = {c.calendar_id: c for c in connection.calendars.all()}
            unknown = [c["calendar_id"] for c in calendars if c["calendar_id"] not in mine]
            if unknown:
                raise Problem(
                    400, "CALENDAR_UNKNOWN", "Unknown calendar", f"Not a calendar of this connection: {unknown[0]}"
                )
            targets = [c["calendar_id"] for c in calendars if c.get("write_target")]
            if len(targets) > 1:
                raise Problem(400, "WRITE_TARGET_MULTIPLE", "One write target", "Choose one calendar to write to.")
            if targets:
                connection.calendars.exclude(calendar_id=targets[0]).update(write_target=False)
            for choice in calendars:
                calendar = mine[choice["calendar_id"]]
                for field in ("check_conflicts", "write_target"):
                    if field in choice:
                        setattr(calendar, field, choice[field])
                calendar.full_clean()
                calendar.save()
                if not calendar.check_conflicts:
                    calendar.busy_blocks.all().delete()
    return connection


def connection_disconnect(*, actor, connection: CalendarConnection) -> None:
    """Revoke the grant at Google (best effort) and forget tokens, calendars and busy time."""
    token = connection.refresh_token or connection.access_token
    if token:
        google.revoke(token)
    connection.delete()


def connection_sync(*, connection_id) -> str:
    """Refresh the calendar list and the busy cache of one connection. Returns its status.
    Raises TransientGoogleError (the task retries); a lost grant marks needs_reconsent."""
    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != Status.ACTIVE:
        return getattr(connection, "status", "gone")
    client = _client(connection)
    now = timezone.now()
    try:
        listed = client.calendars()
        _sync_calendar_list(connection, listed)
        checked = list(connection.calendars.filter(check_conflicts=True))
        start, end = now - timedelta(days=1), now + timedelta(days=settings.GOOGLE_BUSY_HORIZON_DAYS)
        busy = client.busy(calendar_ids=[c.calendar_id for c in checked], start=start, end=end) if checked else {}
    except google.ReconsentNeeded as exc:
        connection_needs_reconsent(connection=connection, error=str(exc))
        return Status.NEEDS_RECONSENT
    except google.TransientGoogleError as exc:
        _record_error(connection, f"Sync failed, retrying: {exc}")
        raise
    except google.GoogleRequestError as exc:
        _record_error(connection, f"Sync failed: {exc}")
        return connection.status
    finally:
        _save_refreshed(connection, client)
    with transaction.atomic():
        for calendar in checked:
            if calendar.calendar_id not in busy:
                continue  # Google reported an error for it: keep the last good cache
            calendar.busy_blocks.all().delete()
            BusyBlock.objects.bulk_create(
                BusyBlock(
                    org_id=connection.org_id,
                    calendar=calendar,
                    membership_id=connection.membership_id,
                    start=s,
                    end=e,
                )
                for s, e in busy[calendar.calendar_id]
                if e > s
            )
            ConnectedCalendar.objects.filter(pk=calendar.pk).update(busy_synced_at=now)
        CalendarConnection.objects.filter(pk=connection.pk).update(
            last_sync_at=now, last_error="", updated_at=timezone.now()
        )
    return Status.ACTIVE


def _sync_calendar_list(connection: CalendarConnection, listed: list[dict]) -> None:
    known = {c.calendar_id: c for c in connection.calendars.all()}
    seen = set()
    first_time = not known
    for item in listed:
        calendar_id = item["id"]
        seen.add(calendar_id)
        primary = bool(item.get("primary"))
        calendar = known.get(calendar_id)
        if calendar is None:
            writable = item.get("accessRole") in ("owner", "writer")
            ConnectedCalendar.objects.create(
                org_id=connection.org_id,
                connection=connection,
                calendar_id=calendar_id,
                summary=item.get("summary", "")[:255],
                primary=primary,
                check_conflicts=primary,  # like Cal.com: the primary calendar is checked by default
                write_target=primary and first_time and writable,
            )
        elif calendar.summary != item.get("summary", "")[:255] or calendar.primary != primary:
            calendar.summary, calendar.primary = item.get("summary", "")[:255], primary
            calendar.save(update_fields=["summary", "primary", "updated_at"])
    connection.calendars.exclude(calendar_id__in=seen).delete()


# --- writing bookings -------------------------------------------------------------------------

WRITTEN = (Booking.Status.CONFIRMED,)


def google_event_id(booking_id) -> str:
    """A client-chosen event id (base32hex: 0-9a-v), so a retried insert whose reply was lost
    answers 409 instead of creating a second event."""
    return f"sk{booking_id.hex}"


def _event_body(booking: Booking) -> dict:
    event_type = booking.event_type
    title = event_type.title if event_type else "Appointment"
    base = settings.PUBLIC_BASE_URL
    lines = [f"Booked with SchedKit by {booking.attendee_name}.", f"Booking: {booking.pk}"]
    links = booking_manage_urls(booking)  # the attendee's links, as their emails carry them
    if links:
        lines += [f"Reschedule: {links['reschedule_url']}", f"Cancel: {links['cancel_url']}"]
    lines.append(f"Details: {base}/admin/bookings/booking/{booking.pk}/change/")
    if booking.notes:
        lines += ["", booking.notes]
    body = {
        "summary": f"{title}: {booking.attendee_name}",
        "description": "\n".join(lines),
        "start": {"dateTime": booking.start_at.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": booking.end_at.isoformat(), "timeZone": "UTC"},
        "status": "confirmed",
        "extendedProperties": {"private": {"schedkit_booking": str(booking.pk)}},
    }
    location = event_type.location if event_type else None
    if location is not None:
        body["location"] = location.name
    if booking.attendee_email:
        body["attendees"] = [{"email": booking.attendee_email, "displayName": booking.attendee_name}]
    return body


def _write_target(membership_id) -> tuple[CalendarConnection, ConnectedCalendar] | None:
    connection = CalendarConnection.objects.filter(membership_id=membership_id, status=Status.ACTIVE).first()
    if connection is None:
        return None
    calendar = connection.calendars.filter(write_target=True).first()
    return (connection, calendar) if calendar is not None else None


def booking_event_sync(*, booking_id) -> str:
    """Make the host's calendar match the booking now: confirmed → the event exists with the
    booking's time; anything else → no event. Safe to run any number of times."""
    booking = Booking.objects.select_related("event_type__location", "person").filter(pk=booking_id).first()
    if booking is None or booking.person_id is None:
        return "skipped"
    link = CalendarEventLink.objects.filter(booking_id=booking.pk).select_related("connection").first()
    wanted = booking.status in WRITTEN
    if link is None:
        if not wanted:
            return "skipped"
        target = _write_target(booking.person.membership_id)
        if target is None:
            return "skipped"
        connection, calendar = target
        try:
            with transaction.atomic():
                link = CalendarEventLink.objects.create(
                    org_id=booking.org_id,
                    connection=connection,
                    calendar_id=calendar.calendar_id,
                    booking_id=booking.pk,
                    google_event_id=google_event_id(booking.pk),
                )
        except IntegrityError:
            link = CalendarEventLink.objects.get(connection=connection, booking_id=booking.pk)
    with transaction.atomic():
        link = CalendarEventLink.objects.select_for_update().select_related("connection").get(pk=link.pk)
        connection = link.connection
        if connection.status != Status.ACTIVE:
            return "skipped"
        client = _client(connection)
        try:
            if wanted:
                answer = _upsert(client, link, _event_body(booking))
                link.etag, link.sequence = answer.get("etag", ""), answer.get("sequence", link.sequence)
                link.state = CalendarEventLink.State.SYNCED
            elif link.state != CalendarEventLink.State.DELETED:
                client.delete_event(calendar_id=link.calendar_id, event_id=link.google_event_id)
                link.state = CalendarEventLink.State.DELETED
            link.last_error = ""
        except google.ReconsentNeeded as exc:
            connection_needs_reconsent(connection=connection, error=str(exc))
            link.last_error = "needs re-consent"
            link.save(update_fields=["last_error", "updated_at"])
            return "needs_reconsent"
        except (google.TransientGoogleError, google.GoogleRequestError) as exc:
            link.attempts += 1
            link.state = CalendarEventLink.State.FAILED
            link.last_error = str(exc)[:500]
            link.save(update_fields=["attempts", "state", "last_error", "updated_at"])
            _record_error(connection, f"Writing booking {booking.pk} failed: {exc}")
            logger.warning("calendar write for booking %s failed: %s", booking.pk, exc)
            failure = exc
        else:
            failure = None
            link.save()
        finally:
            _save_refreshed(connection, client)
    if failure is not None:
        raise failure  # after commit of the failure record: the task retries with backoff
    return link.state


def _upsert(client: google.Calendar, link: CalendarEventLink, body: dict) -> dict:
    if link.state in (CalendarEventLink.State.SYNCED, CalendarEventLink.State.DELETED):
        return client.patch_event(calendar_id=link.calendar_id, event_id=link.google_event_id, body=body)
    try:
        return client.insert_event(calendar_id=link.calendar_id, body={**body, "id": link.google_event_id})
    except google.GoogleRequestError as exc:
        if exc.status != 409:
            raise
        # an earlier try did insert (its reply was lost) or the event was deleted: update it
        return client.patch_event(calendar_id=link.calendar_id, event_id=link.google_event_id, body=body)
