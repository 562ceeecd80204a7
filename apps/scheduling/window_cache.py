"""The expanded window (the month view's rows), cached per org, viewer and query, in the
shared cache as encoded JSON.

Building a month of 1,000 series is ~7,000 instances: fetching the masters, expanding and
rendering them is hundreds of milliseconds, the same for every viewer who polls the same
calendar. Each org has a version token; any change that can alter a rendered instance —
an entry, an override, their assignee sets, a membership or user of the org (names, roles,
visibility), an incident an entry links to — replaces the token (receivers below, connected
in ScheduleConfig.ready), so a cached window is never served after a change; the old ones
simply expire. What an entry shows may depend on who asks (private entries), so the viewer
is part of the key: "all" for roles that see everything, otherwise the membership.

Writes that bypass model signals (QuerySet.update(), bulk_create()) must call bump()."""

import functools
import hashlib
import uuid

import orjson
from django.core.cache import cache
from django.db import transaction

from apps.orgs.models import Team
from apps.orgs.roles import FRONTDESK
from schedkit.cache import BoundedLRU
from schedkit.renderers import EncodedJSON

TTL_SECONDS = 120


def _version_key(org_id) -> str:
    return f"schedule:window-version:{org_id}"


def bump(org_id) -> None:
    """New windows for the org once the current transaction commits (a window computed
    before the commit, from the old rows, must not be stored under the new version)."""
    transaction.on_commit(functools.partial(_bump_now, org_id))


def _bump_now(org_id) -> None:
    cache.set(_version_key(org_id), uuid.uuid4().hex, None)


def _version(org_id) -> str:
    token = cache.get(_version_key(org_id))
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(_version_key(org_id), token, None):
            token = cache.get(_version_key(org_id)) or token
    return token


def window_key(actor, **query) -> str:
    viewer = "all" if actor.role in FRONTDESK else f"m{actor.membership_id}"
    digest = hashlib.sha256(repr(sorted(query.items())).encode()).hexdigest()[:32]
    return f"schedule:window:{actor.org_id}:{_version(actor.org_id)}:{viewer}:{digest}"


# The last few windows of this process too: a month is megabytes, and the key (which holds
# the org's version token) already says whether it is current.
_LOCAL_WINDOWS = 8
_local = BoundedLRU(_LOCAL_WINDOWS)


def get(key: str) -> tuple[int, EncodedJSON] | None:
    """(count, the results array as already-encoded JSON), or None."""
    cached = _local.get(key)
    if cached is None:
        cached = cache.get(key)
        if cached is None:
            return None
        _local.put(key, cached)
    count, encoded = cached
    return count, EncodedJSON(encoded)


def put(key: str, rows: list[dict]) -> None:
    put_encoded(key, len(rows), orjson.dumps(rows))


def put_encoded(key: str, count: int, encoded: bytes) -> None:
    """Store a window already encoded (the results array as JSON bytes)."""
    value = (count, encoded)
    cache.set(key, value, TTL_SECONDS)
    _local.put(key, value)


# --- invalidation (connected in apps.scheduling.apps.SchedulingConfig.ready) -----------------


def on_org_owned_change(sender, instance, **kwargs) -> None:
    """An entry, override, membership or incident changed or went away."""
    if getattr(instance, "org_id", None) is not None:
        bump(instance.org_id)


def on_assignees_change(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_") and getattr(instance, "org_id", None) is not None:
        bump(instance.org_id)


def on_team_member_change(sender, instance, **kwargs) -> None:
    """Team membership decides what ?team= windows hold."""
    for org_id in Team.objects.filter(pk=instance.team_id).values_list("org_id", flat=True):
        bump(org_id)


def on_user_change(sender, instance, update_fields=None, **kwargs) -> None:
    """A user's name or email shows in every org they belong to (a sign-in's last_login
    update does not)."""
    if update_fields is not None and not {"name", "email", "is_active"} & set(update_fields):
        return
    for org_id in instance.memberships.values_list("org_id", flat=True):
        bump(org_id)
