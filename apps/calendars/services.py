"""Every write of calendar sync: connect (consent start/complete), choose calendars,
disconnect, refresh the busy cache, and reconcile the events of a booking or of a schedule
entry's instances in Google.

Google's free/busy answer includes the events SchedKit wrote itself; those intervals are
taken out of the cache (SchedKit already counts the booking or entry, and must not see its
old copy as foreign busy time when it moves it).

Lock order: a CalendarEventLink row (select_for_update) is the only lock taken, never
together with booking locks — a write task reads the booking without locking it and makes
Google match its current state, so deliveries may arrive late, twice or out of order."""

import hashlib
import json
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.bookings.emails import booking_manage_urls
from apps.bookings.models import Booking
from apps.calendars import google
from apps.calendars.models import BusyBlock, CalendarConnection, CalendarEventLink, ConnectedCalendar
from apps.events.enqueue import enqueue_on_commit
from apps.orgs.models import Membership
from apps.scheduling import recurrence, time_version
from apps.scheduling.models import EntryKind, ScheduleEntry
from apps.scheduling.models import Status as EntryStatus
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
    time_version.bump(connection.org_id)  # its busy blocks no longer count (an `update`: no receiver)


def _record_error(connection: CalendarConnection, error: str) -> None:
    CalendarConnection.objects.filter(pk=connection.pk).update(
        last_error=error[:500], last_error_at=timezone.now(), updated_at=timezone.now()
    )


def connection_update(*, actor, connection: CalendarConnection, calendars=None, write_entries=None):
    """Choose the calendars checked for conflicts and the one written to (at most one)."""
    with transaction.atomic():
        connection = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        if write_entries is not None and write_entries != connection.write_entries:
            # the person's entries are written (or their events removed) by one pass: due at
            # once (null), handed over after commit; a refused enqueue leaves it to the sweep
            connection.write_entries = write_entries
            connection.entries_synced_at = None
            connection.save(update_fields=["write_entries", "entries_synced_at", "updated_at"])
            enqueue_on_commit("calendars.sync_entries", str(connection.pk))
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
                    time_version.bump(connection.org_id)  # a fast delete: no receiver
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
    own = _own_events(connection, start, end)
    with transaction.atomic():
        for calendar in checked:
            if calendar.calendar_id not in busy:
                continue  # Google reported an error for it: keep the last good cache
            spans = _subtract(busy[calendar.calendar_id], own.get(calendar.calendar_id, []))
            calendar.busy_blocks.all().delete()
            BusyBlock.objects.bulk_create(
                BusyBlock(
                    org_id=connection.org_id,
                    calendar=calendar,
                    membership_id=connection.membership_id,
                    start=s,
                    end=e,
                )
                for s, e in spans
                if e > s
            )
            ConnectedCalendar.objects.filter(pk=calendar.pk).update(busy_synced_at=now)
            time_version.bump(connection.org_id)  # delete + bulk_create: no receivers
        CalendarConnection.objects.filter(pk=connection.pk).update(
            last_sync_at=now, last_error="", updated_at=timezone.now()
        )
    return Status.ACTIVE


def _own_events(connection: CalendarConnection, start, end) -> dict[str, list[tuple]]:
    """calendar id → the intervals of the events SchedKit keeps there (their free/busy echo)."""
    rows = CalendarEventLink.objects.filter(
        connection=connection, state=CalendarEventLink.State.SYNCED, start__lt=end, end__gt=start
    ).values_list("calendar_id", "start", "end")
    out: dict = {}
    for calendar_id, s, e in rows:
        out.setdefault(calendar_id, []).append((s, e))
    return out


def _subtract(spans: list[tuple], holes: list[tuple]) -> list[tuple]:
    out = []
    holes = sorted(holes)
    for start, end in sorted(spans):
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            out.append((cursor, end))
    return out


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


# --- writing events: one link, one event ----------------------------------------------------


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _sync_link(link_pk, body: dict | None, *, what: str) -> str:
    """Make one written event match: with `body` the event exists and carries it; with None
    there is no event. Under the link's row lock, so two deliveries never write at once; an
    unchanged body already written is not sent again. A failure is recorded on the link and
    the connection (the connection page shows it) and raised after that commits, so the task
    retries with backoff; it never reaches the write (booking, entry) that caused it."""
    with transaction.atomic():
        link = CalendarEventLink.objects.select_for_update().select_related("connection").get(pk=link_pk)
        connection = link.connection
        if connection.status != Status.ACTIVE:
            return "skipped"
        digest = _digest(body) if body is not None else ""
        if body is not None and link.state == CalendarEventLink.State.SYNCED and link.body_hash == digest:
            return link.state  # a redelivery of what Google already has
        if body is None and link.state == CalendarEventLink.State.DELETED:
            return link.state
        client = _client(connection)
        failure = None
        try:
            if body is not None:
                answer = _upsert(client, link, body)
                link.etag, link.sequence = answer.get("etag", ""), answer.get("sequence", link.sequence)
                link.state = CalendarEventLink.State.SYNCED
                link.start = datetime.fromisoformat(body["start"]["dateTime"])
                link.end = datetime.fromisoformat(body["end"]["dateTime"])
                link.body_hash = digest
            else:
                client.delete_event(calendar_id=link.calendar_id, event_id=link.google_event_id)
                link.state = CalendarEventLink.State.DELETED
                link.body_hash = ""
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
            if body is not None:  # the time it should have (the connection page names it)
                link.start = datetime.fromisoformat(body["start"]["dateTime"])
                link.end = datetime.fromisoformat(body["end"]["dateTime"])
            link.save(update_fields=["attempts", "state", "last_error", "start", "end", "updated_at"])
            _record_error(connection, f"Writing {what} failed: {exc}")
            logger.warning("calendar write of %s failed: %s", what, exc)
            failure = exc
        else:
            link.attempts = 0
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


def _write_target(membership_id) -> tuple[CalendarConnection, ConnectedCalendar] | None:
    connection = CalendarConnection.objects.filter(membership_id=membership_id, status=Status.ACTIVE).first()
    if connection is None:
        return None
    calendar = connection.calendars.filter(write_target=True).first()
    return (connection, calendar) if calendar is not None else None


def _claim_link(*, connection, calendar_id: str, event_id: str, **ref) -> CalendarEventLink:
    """The link of (connection, booking | entry instance), created pending on first sight;
    the unique constraints make two concurrent first deliveries share one."""
    try:
        with transaction.atomic():
            return CalendarEventLink.objects.create(
                org_id=connection.org_id,
                connection=connection,
                calendar_id=calendar_id,
                google_event_id=event_id,
                **ref,
            )
    except IntegrityError:
        key = {"booking_id": ref["booking_id"]} if "booking_id" in ref else {"entry_ref": ref["entry_ref"]}
        return CalendarEventLink.objects.get(connection=connection, **key)


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


def booking_event_sync(*, booking_id) -> str:
    """Make the host's calendar match the booking now: confirmed → the event exists with the
    booking's time; anything else → no event. Safe to run any number of times."""
    booking = Booking.objects.select_related("event_type__location", "person").filter(pk=booking_id).first()
    if booking is None or booking.person_id is None:
        return "skipped"
    link = CalendarEventLink.objects.filter(booking_id=booking.pk).first()
    wanted = booking.status in WRITTEN
    if link is None:
        if not wanted:
            return "skipped"
        target = _write_target(booking.person.membership_id)
        if target is None:
            return "skipped"
        connection, calendar = target
        link = _claim_link(
            connection=connection,
            calendar_id=calendar.calendar_id,
            event_id=google_event_id(booking.pk),
            booking_id=booking.pk,
        )
    return _sync_link(link.pk, _event_body(booking) if wanted else None, what=f"booking {booking.pk}")


# --- writing schedule entries -------------------------------------------------------------------


def entry_event_id(instance_ref: str) -> str:
    """A client-chosen event id per entry instance (base32hex), like a booking's."""
    master_id, original = recurrence.parse_instance_id(instance_ref)
    return f"se{master_id.hex}{original.strftime('%Y%m%d%H%M%S') if original else ''}"


def entry_window() -> tuple[datetime, datetime]:
    """Instances written ahead: the busy horizon (a series' later instances are added by the
    periodic pass as they come into it); earlier ones are left as they are (history)."""
    now = timezone.now()
    return now - timedelta(days=1), now + timedelta(days=settings.GOOGLE_BUSY_HORIZON_DAYS)


def _entry_body(entry: ScheduleEntry, instance) -> dict:
    lines = ["Scheduled in SchedKit.", f"Entry: {instance.id}"]
    if instance.notes:
        lines += ["", instance.notes]
    return {
        "summary": instance.title or "Schedule entry",
        "description": "\n".join(lines),
        "start": {"dateTime": instance.start.isoformat(), "timeZone": entry.timezone},
        "end": {"dateTime": instance.end.isoformat(), "timeZone": entry.timezone},
        "status": "tentative" if instance.status == EntryStatus.TENTATIVE else "confirmed",
        # an on-call shift puts its people on duty without occupying them: free in Google too
        "transparency": "transparent" if entry.kind == EntryKind.ON_CALL else "opaque",
        "visibility": "private" if entry.private else "default",
        "extendedProperties": {"private": {"schedkit_entry": instance.id}},
    }


def _entry_targets(membership_ids) -> dict:
    """membership id → (connection, write calendar) of active connections writing entries."""
    connections = CalendarConnection.objects.filter(
        membership_id__in=list(membership_ids), status=Status.ACTIVE, write_entries=True
    ).prefetch_related("calendars")
    out = {}
    for connection in connections:
        calendar = next((c for c in connection.calendars.all() if c.write_target), None)
        if calendar is not None:
            out[connection.membership_id] = (connection, calendar)
    return out


def entry_events_sync(*, entry_id) -> dict:
    """Make the calendars of the entry's connected assignees match the entry now: one event
    per instance in the window for each assignee whose connection writes entries; an instance
    no longer theirs (unassigned, cancelled, deleted, moved out, writing turned off) loses
    its event. Safe to run any number of times, in any order. Returns state → count."""
    start, end = entry_window()
    entry = ScheduleEntry.objects.filter(pk=entry_id).first()
    wanted: dict = {}  # (connection id, instance id) → (connection, calendar, body)
    if entry is not None:
        overrides = list(entry.overrides.prefetch_related("assignees"))
        instances = [i for i in recurrence.expand(entry, overrides, start, end) if i.status != EntryStatus.CANCELLED]
        targets = _entry_targets({a.pk for i in instances for a in i.assignees})
        for instance in instances:
            for assignee in instance.assignees:
                if assignee.pk in targets:
                    connection, calendar = targets[assignee.pk]
                    wanted[(connection.pk, instance.id)] = (connection, calendar, _entry_body(entry, instance))
    existing = {
        (link.connection_id, link.entry_ref): link for link in CalendarEventLink.objects.filter(entry_id=entry_id)
    }
    states: dict = {}
    failures = []
    what = f"schedule entry {entry.title!r}" if entry is not None else "a deleted schedule entry"

    def sync(link, body):
        try:
            state = _sync_link(link.pk, body, what=what)
        except (google.TransientGoogleError, google.GoogleRequestError) as exc:
            failures.append(exc)
            state = CalendarEventLink.State.FAILED
        states[state] = states.get(state, 0) + 1

    for key, (connection, calendar, body) in wanted.items():
        link = existing.get(key) or _claim_link(
            connection=connection,
            calendar_id=calendar.calendar_id,
            event_id=entry_event_id(key[1]),
            entry_ref=key[1],
            entry_id=entry_id,
        )
        sync(link, body)
    for key, link in existing.items():
        if key in wanted or link.state == CalendarEventLink.State.DELETED:
            continue
        if entry is not None and link.end is not None and link.end <= start:
            continue  # an instance in the past stays in the calendar as it happened
        sync(link, None)
    if failures:
        raise failures[0]  # every other instance is written; the task retries the rest
    return states


def connection_entries_sync(*, connection_id) -> int:
    """The periodic (and on toggling `write_entries`) pass over one person's entries: every
    entry they are assigned to in the window, and every entry this connection has events
    for. Returns how many entries were reconciled; raises the first failure after all."""
    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != Status.ACTIVE:
        return 0
    start, end = entry_window()
    member = connection.membership_id
    assigned = (
        ScheduleEntry.objects.filter(org_id=connection.org_id)
        .overlapping(start, end)
        .filter(Q(assignees=member) | Q(overrides__assignees=member))
        .values_list("pk", flat=True)
        if connection.write_entries
        else []
    )
    linked = (
        CalendarEventLink.objects.filter(connection=connection, entry_id__isnull=False)
        .exclude(state=CalendarEventLink.State.DELETED)
        .values_list("entry_id", flat=True)
    )
    ids = set(assigned) | set(linked)
    failure = None
    for entry_id in sorted(ids, key=str):
        try:
            entry_events_sync(entry_id=entry_id)
        except (google.TransientGoogleError, google.GoogleRequestError) as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    CalendarConnection.objects.filter(pk=connection.pk).update(entries_synced_at=timezone.now())
    return len(ids)
