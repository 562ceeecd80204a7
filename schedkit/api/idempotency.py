"""Idempotency-Key support for every POST (required where a view says so).

The first request with a key claims it by inserting a row (committed at once, before the
handler runs); a concurrent twin finds the claim and gets 409 IDEMPOTENCY_IN_PROGRESS. When
the handler finishes, its response (status + body) is stored and replayed for 24 h; the same
key with a different payload is 422 IDEMPOTENCY_KEY_REUSED. A 5xx releases the claim so the
client can retry."""

import hashlib
import json
import re
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from schedkit.api import parsers
from schedkit.api.models import IdempotencyKey
from schedkit.api.problems import IdempotentReplay, Problem

TTL = timedelta(hours=24)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
STALE_CLAIM = timedelta(minutes=5)  # a claim whose request died is taken over after this


def request_fingerprint(request) -> str:
    try:
        body = request._request.body or b""
    except RequestDataTooBig:
        raise Problem(
            413, "REQUEST_TOO_LARGE", "Request too large", "The body exceeds the size this endpoint accepts."
        ) from None
    try:
        body = json.dumps(parsers.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass  # not JSON (or refused by the parser, which answers it): fingerprint the raw bytes
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def actor_ref_for(request) -> str:
    actor = getattr(request, "actor", None)
    if actor is not None:
        return actor.ref
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    session_key = request._request.session.session_key if hasattr(request._request, "session") else None
    return f"anon:{session_key or request.META.get('REMOTE_ADDR', '-')}"


def idempotency_claim(*, actor_ref: str, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    now = timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    actor_ref=actor_ref, key=key, fingerprint=fingerprint, expires_at=now + TTL
                )
            return record, True
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(actor_ref=actor_ref, key=key).first()
            if existing is None:
                continue  # deleted meanwhile: try again
            stale = existing.state == IdempotencyKey.State.IN_PROGRESS and existing.created_at < now - STALE_CLAIM
            if existing.expires_at <= now or stale:
                IdempotencyKey.objects.filter(pk=existing.pk).delete()
                continue
            return existing, False
    raise Problem(409, "IDEMPOTENCY_IN_PROGRESS", "Request in progress", "Retry in a moment.")


class IdempotencyMixin:
    #: actions that refuse to run without an Idempotency-Key (e.g. booking mutations)
    idempotency_required_actions: frozenset[str] = frozenset()

    def idempotency_begin(self, request):
        self._idempotency_record = None
        if request.method != "POST":
            return
        key = request.headers.get("Idempotency-Key")
        action = getattr(self, "action", None) or "post"
        if not key:
            if action in self.idempotency_required_actions:
                raise Problem(
                    400,
                    "IDEMPOTENCY_KEY_REQUIRED",
                    "Idempotency-Key required",
                    "This operation requires an Idempotency-Key header (e.g. a UUID).",
                )
            return
        if len(key) > 255 or not key.isprintable():
            raise Problem(
                400, "IDEMPOTENCY_KEY_INVALID", "Invalid Idempotency-Key", "Use at most 255 printable characters."
            )
        fingerprint = request_fingerprint(request)
        record, claimed = idempotency_claim(actor_ref=actor_ref_for(request), key=key, fingerprint=fingerprint)
        if claimed:
            self._idempotency_record = record
            return
        if record.fingerprint != fingerprint:
            raise Problem(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "Idempotency key reused",
                "This Idempotency-Key was used with a different request.",
            )
        if record.state == IdempotencyKey.State.IN_PROGRESS:
            raise Problem(
                409,
                "IDEMPOTENCY_IN_PROGRESS",
                "Request in progress",
                "A request with this Idempotency-Key is still running; retry shortly.",
            )
        raise IdempotentReplay(record)

    def idempotency_finish(self, response):
        record = getattr(self, "_idempotency_record", None)
        if record is None:
            return
        self._idempotency_record = None
        if response.status_code >= 500:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            return
        IdempotencyKey.objects.filter(pk=record.pk).update(
            state=IdempotencyKey.State.DONE,
            response_status=response.status_code,
            response_body=storable(getattr(response, "data", None)),
        )


def storable(body):
    """The response body as jsonb accepts it: plain JSON values (a serializer's data may hold
    UUIDs, datetimes or Decimals, which the database driver's encoder refuses); PostgreSQL
    refuses NUL in jsonb text and a lone surrogate cannot be encoded, so both become U+FFFD."""
    try:
        text = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    if "\\u0000" not in text and not _LONE_SURROGATE.search(text):
        return json.loads(text)
    return json.loads(_LONE_SURROGATE.sub("\ufffd", text.replace("\\u0000", "\\ufffd")))
