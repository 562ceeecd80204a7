"""Every incident write: create, update, transition, assign, comment, intake and the SLA scan.

Each is keyword-only, atomic, validates with full_clean(), records activity and publishes
incident.created / incident.updated after commit. `actor=None` means the system (intake,
scan); an Actor is checked here so the API and the pages enforce the same rules."""

import logging
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, timedelta

from django.db import IntegrityError, transaction

from apps.events.enqueue import enqueue_on_commit
from apps.events.publish import publish_on_commit
from apps.incidents import clock
from apps.incidents.emails import send_breach_email
from apps.incidents.models import (
    ACTIVE_STATUSES,
    SLA_WINDOWS,
    Activity,
    Incident,
    IntakeEndpoint,
    Priority,
    Source,
    Status,
    manages_incidents,
)
from apps.orgs.models import Membership, Org, Role
from schedkit.api.problems import Problem
from schedkit.tokens import token_hash

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("title", "description", "priority", "lat", "lng", "location_name", "required_skills")
MEMBER_EDITABLE_FIELDS = ("description", "lat", "lng", "location_name")


# --- helpers -------------------------------------------------------------------------------


def sla_window(org: Org, priority: str) -> timedelta:
    """The org's window for a priority: Org.settings["sla_minutes"][priority] or the default."""
    overrides = (org.settings or {}).get("sla_minutes") or {}
    minutes = overrides.get(priority) if isinstance(overrides, dict) else None
    if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0:
        return timedelta(minutes=minutes)
    return SLA_WINDOWS[priority]


def sla_due(org: Org, priority: str, created_at):
    # Python adds a timedelta to an aware datetime in *wall-clock* time of its zone, which
    # is wrong across DST; in UTC wall time and absolute time agree.
    return created_at.astimezone(UTC) + sla_window(org, priority)


def _actor_label(actor) -> str:
    return actor.ref if actor is not None else "system"


def _actor_user(actor):
    return actor.user if actor is not None else None


def _log(incident: Incident, actor, verb: str, field: str = "", old="", new="", label: str | None = None) -> Activity:
    entry = Activity(
        org_id=incident.org_id,
        incident=incident,
        actor=_actor_user(actor),
        actor_label=label or _actor_label(actor),
        verb=verb,
        field=field,
        old="" if old is None else str(old),
        new="" if new is None else str(new),
        at=clock.now(),
    )
    entry.save()
    return entry


def event_data(incident: Incident, **extra) -> dict:
    return {
        "id": incident.pk,
        "title": incident.title,
        "status": incident.status,
        "priority": incident.priority,
        "source": incident.source,
        "sla_due_at": incident.sla_due_at,
        "sla_breached": incident.sla_breached,
        "assignee_ids": sorted(str(m.pk) for m in incident.assignees.all()),
        **extra,
    }


def _publish(incident: Incident, type: str, **extra) -> None:
    publish_on_commit(org=incident.org, type=type, data=event_data(incident, **extra))


def ensure_can_update(actor, incident: Incident) -> None:
    """Managers/schedulers change any incident; a member only those assigned to them (403,
    since they can read it anyway); frontdesk reads only."""
    if actor is None or manages_incidents(actor.role):
        return
    if actor.role == Role.MEMBER and actor.membership_id and incident.is_assigned_to(actor.membership_id):
        return
    if actor.role == Role.MEMBER:
        raise Problem(
            403, "INCIDENT_NOT_ASSIGNED", "Not assigned to you", "Members may only change incidents assigned to them."
        )
    raise Problem(403, "PERMISSION_DENIED", "Permission denied", "Your role may read incidents but not change them.")


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("org").get(pk=incident.pk)


def _new_token() -> str:
    return secrets.token_urlsafe(24)


# --- create / update -----------------------------------------------------------------------


def incident_create(
    *,
    actor,
    org: Org,
    title: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    source: str = Source.API,
    lat: float | None = None,
    lng: float | None = None,
    location_name: str = "",
    assignees: Iterable[Membership] = (),
    signal_id=None,
    fingerprint: str = "",
    reporter_email: str = "",
    actor_label: str | None = None,
    required_skills: Iterable[str] = (),
) -> Incident:
    now = clock.now().astimezone(UTC)
    assignees = list(assignees)
    _check_same_org(org, assignees)
    with transaction.atomic():
        incident = Incident(
            org=org,
            created_at=now,
            title=title,
            description=description,
            priority=priority,
            source=source,
            sla_due_at=sla_due(org, priority, now),
            lat=lat,
            lng=lng,
            location_name=location_name,
            customer_token=_new_token(),
            reply_token=secrets.token_hex(8),
            signal_id=signal_id,
            fingerprint=fingerprint,
            reporter_email=reporter_email,
            required_skills=list(required_skills or ()),
        )
        incident.full_clean()
        incident.save()
        if assignees:
            incident.assignees.set(assignees)
        _log(incident, actor, Activity.Verb.CREATED, new=title, label=actor_label)
        _publish(incident, "incident.created")
    return incident


def incident_update(*, actor, incident: Incident, **changes) -> Incident:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        incident = _lock(incident)
        ensure_can_update(actor, incident)
        if actor is not None and not manages_incidents(actor.role):
            denied = sorted(set(changes) - set(MEMBER_EDITABLE_FIELDS))
            if denied:
                raise Problem(
                    403, "PERMISSION_DENIED", "Permission denied", f"Members may not change: {', '.join(denied)}."
                )
        changed = []
        for field, value in changes.items():
            old = getattr(incident, field)
            if old != value:
                setattr(incident, field, value)
                changed.append((field, old, value))
        if not changed:
            return incident
        if any(field == "priority" for field, _, _ in changed):
            incident.sla_due_at = sla_due(incident.org, incident.priority, incident.created_at)
        incident.full_clean()
        incident.save()
        for field, old, new in changed:
            _log(incident, actor, Activity.Verb.UPDATED, field, old, new)
        _publish(incident, "incident.updated", changed=[f for f, _, _ in changed])
    return incident


# --- status machine ------------------------------------------------------------------------


def incident_transition(*, actor, incident: Incident, to: str, note: str = "", actor_label: str | None = None):
    with transaction.atomic():
        incident = _lock(incident)
        ensure_can_update(actor, incident)
        allowed = incident.allowed_transitions()
        if to not in allowed:
            raise Problem(
                409,
                "ILLEGAL_TRANSITION",
                "Illegal status change",
                f"An incident in {incident.status!r} cannot move to {to!r}.",
                current=incident.status,
                allowed=list(allowed),
            )
        old = incident.status
        incident.status = to
        if to == Status.RESOLVED or (to == Status.CLOSED and incident.resolved_at is None):
            incident.resolved_at = clock.now()
        elif to in ACTIVE_STATUSES:
            incident.resolved_at = None
        incident.full_clean()
        incident.save()
        _log(incident, actor, Activity.Verb.TRANSITIONED, "status", old, to, label=actor_label)
        if note:
            _log(incident, actor, Activity.Verb.COMMENTED, new=note, label=actor_label)
        _publish(incident, "incident.updated", changed=["status"])
    return incident


def incident_patch(
    *, actor, incident: Incident, status: str | None = None, assignees: Iterable[Membership] | None = None, **changes
) -> Incident:
    """PATCH /v1/incidents/{id}: field edits, the assignee set and a status move, all or
    nothing, each through its own service (so the same roles and the same state machine
    apply). Asking for the current status changes nothing."""
    with transaction.atomic():
        if changes:
            incident = incident_update(actor=actor, incident=incident, **changes)
        if assignees is not None:
            incident = incident_assign(actor=actor, incident=incident, assignees=assignees)
        if status is not None and status != incident.status:
            incident = incident_transition(actor=actor, incident=incident, to=status)
    return incident


# --- assignment and comments ---------------------------------------------------------------


def _check_same_org(org, memberships) -> None:
    foreign = [m for m in memberships if m.org_id != org.pk]
    if foreign:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "Assignees must be members of the incident's org.")


def incident_assign(*, actor, incident: Incident, assignees: Iterable[Membership]) -> Incident:
    """Replace the assignee set (only managers/schedulers dispatch)."""
    assignees = list(assignees)
    if actor is not None and not manages_incidents(actor.role):
        raise Problem(403, "PERMISSION_DENIED", "Permission denied", "Only schedulers and managers assign incidents.")
    with transaction.atomic():
        incident = _lock(incident)
        _check_same_org(incident.org, assignees)
        inactive = [m for m in assignees if not m.active]
        if inactive:
            raise Problem(400, "VALIDATION_ERROR", "Invalid input", "Inactive members cannot be assigned.")
        old = sorted(str(m.pk) for m in incident.assignees.all())
        new = sorted(str(m.pk) for m in assignees)
        if old == new:
            return incident
        incident.assignees.set(assignees)
        incident.save(update_fields=["updated_at"])
        _log(incident, actor, Activity.Verb.ASSIGNED, "assignees", ",".join(old), ",".join(new))
        _publish(incident, "incident.updated", changed=["assignees"])
    return incident


def incident_comment(*, actor, incident: Incident, body: str, actor_label: str | None = None) -> Activity:
    body = body.strip()
    if not body:
        raise Problem(400, "VALIDATION_ERROR", "Invalid input", "A comment needs a body.")
    with transaction.atomic():
        incident = _lock(incident)
        ensure_can_update(actor, incident)
        entry = _log(incident, actor, Activity.Verb.COMMENTED, new=body, label=actor_label)
        incident.save(update_fields=["updated_at"])
        _publish(incident, "incident.updated", changed=["activity"])
    return entry


def incident_log_dispatch(*, incident: Incident, text: str, label: str) -> Activity:
    """A step of the incident's dispatch chain, in its activity log (the dispatch app calls
    this inside its own transaction, holding the incident's lock)."""
    return _log(incident, None, Activity.Verb.DISPATCHED, "dispatch", new=text, label=label)


# --- SLA breach scan -----------------------------------------------------------------------


def sla_scan(*, limit: int = 500) -> list:
    """Mark every overdue active incident breached, exactly once even with concurrent scans
    (row locks with SKIP LOCKED, then re-checked under the lock), and notify on commit."""
    now = clock.now()
    breached = []
    with transaction.atomic():
        rows = (
            Incident.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("org")
            .filter(sla_breached=False, status__in=ACTIVE_STATUSES, sla_due_at__lte=now)
            .order_by("sla_due_at")[:limit]
        )
        for incident in rows:
            incident.sla_breached = True
            incident.save(update_fields=["sla_breached", "updated_at"])
            _log(incident, None, Activity.Verb.SLA_BREACHED, "sla_breached", False, True)
            _publish(incident, "incident.updated", changed=["sla_breached"])
            for email in breach_recipients(incident):
                enqueue_on_commit(send_breach_email, str(incident.pk), email, inline_on_failure=True)
            breached.append(incident.pk)
    return breached


def breach_recipients(incident: Incident) -> list[str]:
    admins = Membership.objects.filter(
        org_id=incident.org_id, active=True, role__in=(Role.OWNER, Role.ADMIN)
    ).values_list("user__email", flat=True)
    assigned = incident.assignees.filter(active=True).values_list("user__email", flat=True)
    return sorted({e for e in [*assigned, *admins] if e})


# --- intake --------------------------------------------------------------------------------


def intake_endpoint_create(*, actor, name: str, default_priority: str = Priority.NORMAL, rate_limit: str = ""):
    """Returns (endpoint, raw token); the raw token is shown once and stored hashed."""
    raw = "in_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = IntakeEndpoint(
            org=actor.org,
            name=name,
            default_priority=default_priority,
            rate_limit=rate_limit,
            token_hash=token_hash(raw),
            token_prefix=raw[:10],
        )
        endpoint.full_clean()
        endpoint.save()
    return endpoint, raw


def intake_endpoint_delete(*, actor, endpoint: IntakeEndpoint) -> None:
    endpoint.delete()


def intake_endpoint_resolve(raw: str) -> IntakeEndpoint | None:
    """The active endpoint behind a presented intake token (its use is recorded), or None."""
    endpoint = (
        IntakeEndpoint.objects.select_related("org")
        .filter(token_hash=token_hash(raw), active=True, org__is_active=True)
        .first()
    )
    if endpoint is not None:
        endpoint.last_used_at = clock.now()
        IntakeEndpoint.objects.filter(pk=endpoint.pk).update(last_used_at=endpoint.last_used_at)
    return endpoint


def _active_by_fingerprint(org, fingerprint: str, lock: bool = False):
    qs = Incident.objects.filter(org=org, fingerprint=fingerprint, status__in=ACTIVE_STATUSES)
    if lock:
        qs = qs.select_for_update()
    return qs.select_related("org").first()


def incident_intake(
    *,
    org: Org,
    title: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    fingerprint: str = "",
    source: str = Source.WEBHOOK,
    label: str = "webhook",
    required_skills: Iterable[str] = (),
) -> tuple[Incident, bool]:
    """Open an incident, or — when an active one has the same fingerprint — record the repeat
    on it. Returns (incident, created). A concurrent duplicate loses on the partial unique
    constraint and is folded into the winner."""
    if fingerprint:
        with transaction.atomic():
            existing = _active_by_fingerprint(org, fingerprint, lock=True)
            if existing is not None:
                _log(existing, None, Activity.Verb.REPEATED, new=title, label=label)
                existing.save(update_fields=["updated_at"])
                _publish(existing, "incident.updated", changed=["activity"])
                return existing, False
    try:
        with transaction.atomic():
            incident = incident_create(
                actor=None,
                org=org,
                title=title,
                description=description,
                priority=priority,
                source=source,
                fingerprint=fingerprint,
                actor_label=label,
                required_skills=required_skills,
            )
        return incident, True
    except IntegrityError:
        if not fingerprint:
            raise
        return incident_intake(
            org=org,
            title=title,
            description=description,
            priority=priority,
            fingerprint=fingerprint,
            label=label,
            required_skills=required_skills,
        )


def incident_resolve_by_fingerprint(*, org: Org, fingerprint: str, label: str = "webhook") -> Incident | None:
    incident = _active_by_fingerprint(org, fingerprint)
    if incident is None:
        return None
    return incident_transition(actor=None, incident=incident, to=Status.RESOLVED, actor_label=label)


def incident_from_alert(
    *,
    org: Org,
    title: str,
    lat: float | None,
    lng: float | None,
    signal_id,
    description: str = "",
    required_skills: Iterable[str] = (),
) -> Incident:
    """Called by the signals app for an `alert` signal: an urgent incident at the position,
    carrying the alert's full text as its description."""
    return incident_create(
        actor=None,
        org=org,
        title=title,
        description=description[:20_000],
        priority=Priority.URGENT,
        source=Source.ALERT,
        lat=lat,
        lng=lng,
        signal_id=signal_id,
        actor_label="signal",
        required_skills=required_skills,
    )


def _valid_email(value: str) -> str:
    from django.core.validators import validate_email

    try:
        validate_email(value)
    except Exception:  # noqa: BLE001 - a malformed sender is simply not recorded
        return ""
    return value[:254]


def incident_from_email(*, recipient: str, sender: str, subject: str, text: str) -> Incident | None:
    """Inbound email: a reply token (recipient `…+r-<token>@` or `[ref:<token>]` in the subject)
    appends a comment; `…+<org-slug>@` opens a ticket in that org; anything else is dropped."""
    label = f"email:{sender}"[:200]
    local = (recipient or "").split("@", 1)[0].lower()
    tag = local.split("+", 1)[1] if "+" in local else ""
    token = tag[2:] if tag.startswith("r-") else None
    if token is None:
        match = re.search(r"\[ref:([0-9a-f]{16})\]", subject or "")
        token = match.group(1) if match else None
    if token:
        incident = Incident.objects.select_related("org").filter(reply_token=token).first()
        if incident is None:
            logger.info("inbound email with unknown reply token dropped")
            return None
        body = (text or "").strip() or (subject or "").strip() or "(empty message)"
        incident_comment(actor=None, incident=incident, body=body[:20_000], actor_label=label)
        return incident
    org = Org.objects.filter(slug=tag, is_active=True).first() if tag else None
    if org is None:
        logger.info("inbound email for no known org dropped")
        return None
    return incident_create(
        actor=None,
        org=org,
        title=(subject or "").strip()[:300] or "(no subject)",
        description=(text or "")[:20_000],
        source=Source.EMAIL,
        reporter_email=_valid_email(sender),
        actor_label=label,
    )
