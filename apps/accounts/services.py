"""Identity writes: sign-in challenges and API keys."""

import copy
import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from apps.accounts.models import ApiKey, LoginCode, User, normalize_email
from apps.accounts.tasks import send_login_email
from apps.events.enqueue import enqueue_on_commit
from apps.events.publish import publish_on_commit
from apps.orgs.models import Membership
from apps.orgs.roles import ADMINS
from schedkit.api.problems import Problem
from schedkit.cache import REDIS_UNAVAILABLE, BoundedLRU
from schedkit.tokens import token_hash

MISSING = object()
LAST_USED_RESOLUTION = timedelta(seconds=60)  # at most one last_used_at write per key per minute


def _code_hash(challenge_id, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def login_start(*, email: str, ip: str | None = None, next_url: str = "") -> LoginCode:
    """Create a fresh challenge (older ones for this email stop working) and email it."""
    email = normalize_email(email)
    code = f"{secrets.randbelow(1_000_000):06d}"
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        LoginCode.objects.filter(email=email, used_at__isnull=True, superseded=False).update(superseded=True)
        challenge = LoginCode(
            email=email,
            link_hash=token_hash(token),
            expires_at=timezone.now() + timedelta(seconds=settings.LOGIN_CODE_TTL_SECONDS),
            requested_ip=ip,
            next_url=next_url[:500],
        )
        challenge.code_hash = _code_hash(challenge.id, code)
        challenge.full_clean()
        challenge.save()
        query = urlencode({"token": token, **({"next": next_url} if next_url else {})})
        link = f"{settings.PUBLIC_BASE_URL}/v1/auth/link?{query}"
        enqueue_on_commit(send_login_email, email, code, link, inline_on_failure=True)  # rowless: the code is secret
    return challenge


def _user_for_email(email: str) -> User:
    user = User.objects.filter(email=email).first()
    return user or User.objects.create_user(email)


def login_verify_code(*, email: str, code: str) -> User:
    """Check a code. Wrong tries are counted even though the call fails, so the counter is
    committed before the error is raised."""
    email = normalize_email(email)
    now = timezone.now()
    failure = None
    with transaction.atomic():
        challenge = (
            LoginCode.objects.select_for_update()
            .filter(email=email, used_at__isnull=True, superseded=False)
            .order_by("-id")
            .first()
        )
        if challenge is None:
            failure = ("LOGIN_CODE_INVALID", "No active code for this address; request a new one.")
        elif challenge.expires_at <= now:
            failure = ("LOGIN_CODE_EXPIRED", "The code has expired; request a new one.")
        elif challenge.attempts >= settings.LOGIN_CODE_MAX_ATTEMPTS:
            failure = ("LOGIN_CODE_EXHAUSTED", "Too many wrong codes; request a new one.")
        elif not hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, str(code))):
            challenge.attempts += 1
            challenge.save(update_fields=["attempts", "updated_at"])
            left = settings.LOGIN_CODE_MAX_ATTEMPTS - challenge.attempts
            failure = (
                "LOGIN_CODE_INVALID",
                f"Wrong code; {left} attempt(s) left."
                if left
                else "Wrong code; this code is now dead, request a new one.",
            )
        else:
            challenge.used_at = now
            challenge.save(update_fields=["used_at", "updated_at"])
            return _user_for_email(email)
    raise Problem(400, failure[0], "Sign-in failed", failure[1])


def login_verify_link(*, token: str) -> tuple[User, str]:
    now = timezone.now()
    with transaction.atomic():
        challenge = LoginCode.objects.select_for_update().filter(link_hash=token_hash(token or "")).first()
        if challenge is None or challenge.used_at or challenge.superseded:
            raise Problem(400, "LOGIN_LINK_INVALID", "Sign-in failed", "This link is not valid or was already used.")
        if challenge.expires_at <= now:
            raise Problem(400, "LOGIN_LINK_EXPIRED", "Sign-in failed", "This link has expired; request a new one.")
        challenge.used_at = now
        challenge.save(update_fields=["used_at", "updated_at"])
        return _user_for_email(challenge.email), challenge.next_url


def api_key_create(*, actor, name: str, expires_at=None) -> tuple[ApiKey, str]:
    """A key for the acting user in the acting org. The plaintext is returned once."""
    raw = ApiKey.PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        org=actor.org,
        user=actor.user,
        name=name,
        prefix=raw[: len(ApiKey.PREFIX) + 6],
        key_hash=token_hash(raw),
        expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    return key, raw


def _revoke(key: ApiKey, now) -> None:
    """Inside a transaction: revoke, tell open streams (access.revoked closes the websockets
    and SSE streams authenticated by this key), and forget the cached key once committed — a
    concurrent request between the write and the commit could otherwise re-cache it."""
    if key.revoked_at is None:
        key.revoked_at = now
        key.save(update_fields=["revoked_at", "updated_at"])
        publish_on_commit(
            org=key.org,
            type="access.revoked",
            data={"reason": "api_key_revoked", "api_key_id": key.pk, "user_id": key.user_id, "membership_id": None},
        )
    org_id, key_hash = key.org_id, key.key_hash
    transaction.on_commit(lambda: api_key_cache_invalidate(org_id=org_id, key_hashes=[key_hash]))


def api_key_revoke(*, actor, api_key: ApiKey) -> ApiKey:
    if api_key.user_id != actor.user.pk and actor.role not in ADMINS:
        raise Problem(403, "PERMISSION_DENIED", "Permission denied", "Only admins may revoke others' keys.")
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update(of=("self",)).select_related("org").get(pk=api_key.pk)
        _revoke(locked, timezone.now())
    return locked


def api_key_revoke_staff(*, user, keys) -> int:
    """Staff (Django admin) revoke keys of any org; returns how many were still live."""
    if not (user.is_active and user.is_staff):
        raise Problem(403, "PERMISSION_DENIED", "Permission denied", "Only staff may revoke keys here.")
    now = timezone.now()
    with transaction.atomic():
        live = list(
            ApiKey.objects.select_for_update(of=("self",))
            .select_related("org")
            .filter(pk__in=keys, revoked_at__isnull=True)
        )
        for key in live:
            _revoke(key, now)
    return len(live)


KEY_CACHE_TTL = 30  # seconds; services invalidate at once, anything else is seen within this
VERSION_TTL = 86400  # a version token outlives any process-local copy validated by it
_LOCAL_MAX = 4096  # resolved keys kept per process

#: key_hash -> (ApiKey with user, org, role, membership_id; version token), each at most
#: KEY_CACHE_TTL old. Shared by the threads of a process; every request gets its own copy
#: (`_request_copy`).
_local_keys = BoundedLRU(_LOCAL_MAX, ttl=KEY_CACHE_TTL)


def api_key_version_key(key_hash: str) -> str:
    """The key's version token in the shared cache: every process validates its local copy
    of the resolved key against it on each request; invalidation deletes it."""
    return f"apikey:{key_hash}"


def api_key_cache_invalidate(*, org_id=None, user_id=None, key_hashes=None) -> None:
    """Forget resolved keys in every process at once: a revoked key, or every key of a user
    and/or an org whose role, membership, user or org record changed (a cached key carries
    snapshots of them). Deleting the version tokens is what every process checks."""
    if key_hashes is None:
        keys = ApiKey.objects.all()
        if org_id is not None:
            keys = keys.filter(org_id=org_id)
        if user_id is not None:
            keys = keys.filter(user_id=user_id)
        key_hashes = list(keys.values_list("key_hash", flat=True))
    cache.delete_many([api_key_version_key(h) for h in key_hashes])
    for key_hash in key_hashes:
        _local_keys.pop(key_hash, None)


def _api_key_lookup(key_hash: str) -> ApiKey | None:
    membership = Membership.objects.filter(org=OuterRef("org"), user=OuterRef("user"), active=True)
    return (
        ApiKey.objects.select_related("user", "org")
        .annotate(role=Subquery(membership.values("role")[:1]), membership_id=Subquery(membership.values("id")[:1]))
        .filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True, org__is_active=True)
        .first()
    )


def _request_copy(key: ApiKey) -> ApiKey:
    """A copy per request (as unpickling gave before): views and middleware may set
    attributes on request.auth / request.user, which must not leak into other requests."""
    copied = copy.copy(key)
    copied.user = copy.copy(key.user)
    copied.org = copy.copy(key.org)
    return copied


def api_key_local(raw: str):
    """(key_hash, this process's resolved copy or None) for a presented key, without I/O.
    The copy is not validated: pass its version to `api_key_authenticate`."""
    if not raw or not raw.startswith(ApiKey.PREFIX):
        return None, None
    key_hash = token_hash(raw)
    return key_hash, _local_keys.get(key_hash)


def api_key_authenticate(raw: str, *, key_hash=None, version=MISSING) -> ApiKey | None:
    """Resolve a presented key: key, user, org and the user's current role, in one query, then
    from this process's copy as long as the key's version token in the shared cache is
    unchanged (every request of an agent presents its key: this is the hot path). The token is
    read here, or by the caller in its own round trip (`version`, see
    apps.accounts.authentication: with the throttle's counter). A key stops working when
    revoked, expired, or its user leaves the org — at once when a service changed it (the token
    is deleted on commit), within KEY_CACHE_TTL otherwise."""
    if key_hash is None:
        if not raw or not raw.startswith(ApiKey.PREFIX):
            return None
        key_hash = token_hash(raw)
    cache_key = api_key_version_key(key_hash)
    if version is MISSING:
        version = cache.get(cache_key)  # None as well when Redis is unavailable: the database decides
    entry = _local_keys.get(key_hash)
    if entry is not None and version is not None and entry[1] == version:
        key = entry[0]
    else:
        created = version is None
        if created:  # read (or create) the token *before* the database: a change after it replaces it
            try:
                cache.add(cache_key, secrets.randbits(62), VERSION_TTL)
            except REDIS_UNAVAILABLE:
                pass  # the get below is a miss too: nothing is kept, the database decides
            version = cache.get(cache_key)
        key = _api_key_lookup(key_hash)
        if key is None or key.role is None:
            _local_keys.pop(key_hash, None)
            if created and version is not None:
                try:
                    cache.delete(cache_key)  # no token for a key that does not resolve
                except REDIS_UNAVAILABLE:
                    pass  # harmless: a token only lets a copy be kept
            return None
        if version is not None:
            _local_keys.put(key_hash, (key, version))
    now = timezone.now()
    if key.expires_at is not None and key.expires_at <= now:
        return None
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        # at most one write per key per minute across processes (the filter), one query per
        # process per minute
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return _request_copy(key)
