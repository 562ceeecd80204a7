"""Signal writes. Every persisted signal publishes its event in the same transaction (outbox);
beacon pings after the first write nothing to the database: the live position goes to the
shared cache (Redis in production) and the `signal.beacon` envelope straight to the org's live
subscribers, one Redis PUBLISH per ping (apps/events/ephemeral.py: latest wins, not persisted)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.events import ephemeral
from apps.events.publish import publish_on_commit
from apps.incidents.services import incident_from_alert
from apps.signals import conf
from apps.signals.models import Beacon, PushSubscription, Signal
from schedkit.api.problems import Problem
from schedkit.ids import uuid7

logger = logging.getLogger(__name__)

# Sniffed from the bytes, never from the client's Content-Type header.
IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)


def sniff_image(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def _sender(actor) -> dict:
    user = actor.user
    user_id = getattr(user, "pk", None)
    return {
        "membership_id": str(actor.membership_id) if actor.membership_id else None,
        "user_id": str(user_id) if user_id else None,
        "name": getattr(user, "name", "") or getattr(user, "email", ""),
    }


def signal_data(signal: Signal) -> dict:
    data = {
        "id": signal.pk,
        "type": signal.type,
        "membership_id": signal.membership_id,
        "user_id": signal.user_id,
        "title": signal.title,
        "text": signal.text,
        "lat": signal.lat,
        "lng": signal.lng,
        "accuracy_m": signal.accuracy_m,
        "data": signal.data,
        "created_at": signal.created_at,
    }
    if signal.type == Signal.Type.BEACON:
        data["beacon_id"] = signal.beacon_id
        data["beacon_state"] = signal.beacon_state
    if signal.type == Signal.Type.CAPTURE:
        data["capture_content_type"] = signal.capture_content_type
        data["capture_size"] = signal.capture_size
    return data


def signal_create(
    *,
    actor,
    type: str,
    title: str = "",
    text: str = "",
    lat: float | None = None,
    lng: float | None = None,
    accuracy_m: float | None = None,
    data: dict | None = None,
    capture: UploadedFile | None = None,
) -> Signal:
    """A note, check-in, capture or alert (beacons go through beacon_ping)."""
    if type == Signal.Type.BEACON:
        raise Problem(400, "USE_BEACON_PING", "Use the beacon endpoint", "Beacon pings go to POST /v1/signals/beacon.")
    signal = Signal(
        org=actor.org,
        type=type,
        membership_id=actor.membership_id,
        user=actor.user,
        title=title,
        text=text,
        lat=lat,
        lng=lng,
        accuracy_m=accuracy_m,
        data=data or {},
    )
    if type == Signal.Type.CAPTURE:
        _attach_capture(signal, capture)
    elif capture is not None:
        raise Problem(400, "CAPTURE_NOT_ALLOWED", "Unexpected file", "Only a capture signal carries an image.")
    with transaction.atomic():
        signal.full_clean()
        signal.save()
        payload = signal_data(signal) | {"sender": _sender(actor)}
        publish_on_commit(
            org=actor.org, type="signal.alert" if type == Signal.Type.ALERT else "signal.created", data=payload
        )
        if type == Signal.Type.ALERT:
            # Signal in, incident out: every alert opens an urgent incident at its position.
            skills = (data or {}).get("required_skills")
            incident_from_alert(
                org=actor.org,
                title=alert_title(title, text),
                description=text,
                lat=lat,
                lng=lng,
                signal_id=signal.pk,
                required_skills=skills if isinstance(skills, list) else (),
            )
    return signal


ALERT_TITLE_MAX = 120


def alert_title(title: str, text: str) -> str:
    """The incident's title for an alert: its title, else the first line of its text (cut at a
    word, with an ellipsis, past ALERT_TITLE_MAX characters), else "Alert"."""
    if title.strip():
        return title.strip()[:300]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        return "Alert"
    if len(first) <= ALERT_TITLE_MAX:
        return first
    cut = first[:ALERT_TITLE_MAX].rsplit(" ", 1)[0] or first[:ALERT_TITLE_MAX]
    return cut.rstrip(" ,.;:") + "…"


def _attach_capture(signal: Signal, capture: UploadedFile | None) -> None:
    if capture is None:
        raise Problem(
            400, "CAPTURE_REQUIRED", "Image required", "A capture needs an image file in the `capture` field."
        )
    limit = conf.get("SIGNALS_CAPTURE_MAX_BYTES")
    if capture.size is None or capture.size > limit:
        raise Problem(413, "CAPTURE_TOO_LARGE", "Image too large", f"A capture may be at most {limit} bytes.")
    capture.seek(0)
    sniffed = sniff_image(capture.read(16))
    capture.seek(0)
    if sniffed is None:
        raise Problem(
            400, "CAPTURE_UNSUPPORTED_TYPE", "Unsupported image", "A capture must be a JPEG, PNG, GIF or WebP image."
        )
    signal.capture_content_type, signal.capture_extension = sniffed
    signal.capture_size = capture.size
    signal.capture = capture


# --- beacons ---------------------------------------------------------------------------------


def live_key(org_id, membership_id) -> str:
    return f"signals:beacon:{org_id}:{membership_id}"


def stopped_key(org_id, membership_id) -> str:
    """The member's last stopped beacon id: a ping racing a stop (or the sweep) may write the
    live entry back after the stop cleared it; the marker makes the next ping ignore it."""
    return f"signals:beacon-stopped:{org_id}:{membership_id}"


def _live_ttl() -> int:
    # Kept a little longer than the timeout, so the sweep still sees the last position.
    return conf.beacon_timeout() * 2 + 60


def _position(beacon_id, actor, *, lat, lng, accuracy_m, heading, speed, now) -> dict:
    return {
        "beacon_id": str(beacon_id),
        **_sender(actor),
        "lat": lat,
        "lng": lng,
        "accuracy_m": accuracy_m,
        "heading": heading,
        "speed": speed,
        "ts": now.isoformat(),
    }


def beacon_ping(
    *,
    actor,
    lat: float,
    lng: float,
    accuracy_m: float | None = None,
    heading: float | None = None,
    speed: float | None = None,
    announce: bool = True,
) -> tuple[dict, bool]:
    """Record a ping of the actor's beacon. Returns (live position, started).

    The first ping starts the beacon (Beacon row + `signal.beacon_on`, persisted). Every later
    ping only refreshes the cache entry and publishes `signal.beacon` (apps/events/ephemeral.py):
    no database write. `announce=False`: the caller publishes `beacon_envelope(actor, position)`
    itself (the websocket handler does, on its event loop, instead of blocking this thread on it)."""
    if actor.membership_id is None:
        raise Problem(403, "MEMBERSHIP_REQUIRED", "Membership required", "Only org members run a beacon.")
    _check_position(lat, lng, accuracy_m, heading, speed)
    now = timezone.now()
    key = live_key(actor.org_id, actor.membership_id)
    marker = stopped_key(actor.org_id, actor.membership_id)
    found = cache.get_many([key, marker])  # one round trip
    live = found.get(key)
    if live is not None and live.get("beacon_id") == found.get(marker):
        live = None  # written back by a ping that raced the stop
    started = False
    if live is None:
        beacon = Beacon.objects.active().filter(org_id=actor.org_id, membership_id=actor.membership_id).first()
        if beacon is None:
            beacon, started = _beacon_start(actor=actor, lat=lat, lng=lng, accuracy_m=accuracy_m, now=now)
        beacon_id = beacon.pk
    else:
        beacon_id = live["beacon_id"]
    position = _position(
        beacon_id, actor, lat=lat, lng=lng, accuracy_m=accuracy_m, heading=heading, speed=speed, now=now
    )
    cache.set(key, position, _live_ttl())
    if not started and announce:  # beacon_on already carried the first position to the streams
        ephemeral.publish(actor.org_id, beacon_envelope(actor, position))
    return position, started


def beacon_envelope(actor, position: dict) -> dict:
    """The live `signal.beacon` of a ping (published to live subscribers only, never persisted)."""
    return {"id": str(uuid7()), "type": "signal.beacon", "org": actor.org.slug, "ts": position["ts"], "data": position}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_position(lat, lng, accuracy_m, heading, speed) -> None:
    errors = {}
    if not _number(lat) or not -90 <= lat <= 90:
        errors["lat"] = "Latitude is a number from -90 to 90."
    if not _number(lng) or not -180 <= lng <= 180:
        errors["lng"] = "Longitude is a number from -180 to 180."
    if accuracy_m is not None and (not _number(accuracy_m) or accuracy_m < 0):
        errors["accuracy_m"] = "Accuracy is a non-negative number of metres."
    if heading is not None and (not _number(heading) or not 0 <= heading <= 360):
        errors["heading"] = "Heading is a number of degrees from 0 to 360."
    if speed is not None and (not _number(speed) or speed < 0):
        errors["speed"] = "Speed is a non-negative number of metres per second."
    if errors:
        from django.core.exceptions import ValidationError

        raise ValidationError(errors)


def _beacon_start(*, actor, lat, lng, accuracy_m, now) -> tuple[Beacon, bool]:
    try:
        with transaction.atomic():
            beacon = Beacon(
                org=actor.org, membership_id=actor.membership_id, user=actor.user, started_at=now, lat=lat, lng=lng
            )
            beacon.full_clean(validate_constraints=False)  # the partial unique index decides races
            beacon.save()
            signal = Signal(
                org=actor.org,
                type=Signal.Type.BEACON,
                beacon_state="on",
                beacon=beacon,
                membership_id=actor.membership_id,
                user=actor.user,
                lat=lat,
                lng=lng,
                accuracy_m=accuracy_m,
            )
            signal.full_clean()
            signal.save()
            publish_on_commit(
                org=actor.org, type="signal.beacon_on", data=signal_data(signal) | {"sender": _sender(actor)}
            )
        return beacon, True
    except IntegrityError:
        # A concurrent first ping of the same member won: join its beacon.
        return Beacon.objects.active().get(org_id=actor.org_id, membership_id=actor.membership_id), False


def beacon_stop(*, actor, beacon: Beacon | None = None, reason: str = Beacon.StopReason.STOPPED) -> Beacon:
    """Stop a beacon (the actor's own when none is given): persists `beacon_off` and clears
    the member from the live map."""
    with transaction.atomic():
        queryset = Beacon.objects.select_for_update().active()
        if beacon is None:
            locked = queryset.filter(org_id=actor.org_id, membership_id=actor.membership_id).first()
        else:
            locked = queryset.filter(pk=beacon.pk).first()
        if locked is None:
            raise Problem(409, "BEACON_NOT_ACTIVE", "Beacon not active", "There is no active beacon to stop.")
        key = live_key(locked.org_id, locked.membership_id)
        live = cache.get(key) or {}
        if live.get("beacon_id") != str(locked.pk):
            live = {}
        if reason == Beacon.StopReason.TIMEOUT and live.get("ts") and not _silent(live["ts"], timezone.now()):
            raise Problem(409, "BEACON_ALIVE", "Beacon alive", "The beacon pinged again before the sweep.")
        if live.get("lat") is not None:
            locked.lat, locked.lng = live["lat"], live["lng"]
        locked.stopped_at = timezone.now()
        locked.stop_reason = reason
        locked.full_clean(validate_constraints=False)
        locked.save()
        signal = Signal(
            org_id=locked.org_id,
            type=Signal.Type.BEACON,
            beacon_state="off",
            beacon=locked,
            membership_id=locked.membership_id,
            user_id=locked.user_id,
            lat=locked.lat,
            lng=locked.lng,
            data={"reason": reason, "last_ping_at": live.get("ts")},
        )
        signal.full_clean()
        signal.save()
        publish_on_commit(org=locked.org, type="signal.beacon_off", data=signal_data(signal) | {"reason": reason})
        marker, stopped_id = stopped_key(locked.org_id, locked.membership_id), str(locked.pk)

        def forget():
            cache.set(marker, stopped_id, _live_ttl())
            cache.delete(key)

        transaction.on_commit(forget)
    return locked


def beacon_sweep(*, now=None) -> int:
    """Stop every beacon silent for longer than the timeout (reason `timeout`)."""
    now = now or timezone.now()
    timeout = conf.beacon_timeout()
    beacons = list(Beacon.objects.active().select_related("org").order_by("id"))
    if not beacons:
        return 0
    live = cache.get_many([live_key(b.org_id, b.membership_id) for b in beacons])
    swept = 0
    for beacon in beacons:
        position = live.get(live_key(beacon.org_id, beacon.membership_id))
        if position and position.get("beacon_id") == str(beacon.pk):
            if not _silent(position["ts"], now):
                continue
        elif (now - beacon.started_at).total_seconds() <= timeout:
            continue
        try:
            beacon_stop(actor=None, beacon=beacon, reason=Beacon.StopReason.TIMEOUT)
            swept += 1
        except Problem:
            pass  # stopped meanwhile, or it pinged again
    return swept


def _silent(ts: str, now) -> bool:
    return (now - datetime.fromisoformat(ts)).total_seconds() > conf.beacon_timeout()


# --- push subscriptions ----------------------------------------------------------------------


def push_subscription_save(
    *, actor, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> tuple[PushSubscription, bool]:
    """Register (or refresh) this browser's subscription for the actor's user."""
    with transaction.atomic():
        subscription = (
            PushSubscription.objects.select_for_update().filter(org_id=actor.org_id, endpoint=endpoint).first()
        )
        created = subscription is None
        if created:
            subscription = PushSubscription(org=actor.org, endpoint=endpoint)
        subscription.user = actor.user
        subscription.p256dh, subscription.auth, subscription.user_agent = p256dh, auth, user_agent[:300]
        subscription.failures = 0
        subscription.full_clean()
        subscription.save()
    return subscription, created


def push_subscription_delete(*, actor, subscription: PushSubscription) -> None:
    subscription.delete()
