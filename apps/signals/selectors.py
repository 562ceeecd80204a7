"""Reads that cross the tenant line: signals, live beacon positions, the SSE caller."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from apps.orgs.models import Membership
from apps.orgs.tenancy import Actor, org_not_found
from apps.signals import conf
from apps.signals.models import Beacon, Signal
from apps.signals.services import live_key
from schedkit.api.problems import Problem


def signal_list(*, fetched_by: Actor):
    return Signal.objects.for_actor(fetched_by).select_related("user")


def access_signal(actor: Actor, signal_id) -> Signal:
    return Signal.objects.access(actor, signal_id)


def live_positions(beacons) -> dict:
    """{beacon id: live position} for these beacons, one cache round trip; positions older
    than the beacon timeout are left out (correct even before the sweep has run)."""
    beacons = list(beacons)
    found = cache.get_many([live_key(b.org_id, b.membership_id) for b in beacons])
    cutoff = timezone.now().timestamp() - conf.beacon_timeout()
    positions = {}
    for beacon in beacons:
        position = found.get(live_key(beacon.org_id, beacon.membership_id))
        if position and position.get("beacon_id") == str(beacon.pk):
            if datetime.fromisoformat(position["ts"]).timestamp() >= cutoff:
                positions[beacon.pk] = position
    return positions


def active_beacons(*, fetched_by: Actor):
    return Beacon.objects.for_actor(fetched_by).active().select_related("user")


def stream_actor(*, user, api_key, slug: str | None) -> Actor:
    """The SSE caller's org, resolved like the REST API's (API key's own org; for a session
    the X-Org header or ?org=, else the user's only org)."""
    if api_key is not None:
        if slug and slug != api_key.org.slug:
            raise org_not_found(slug)
        return Actor(
            user=user, org=api_key.org, role=api_key.role, membership_id=api_key.membership_id, api_key=api_key
        )
    memberships = Membership.objects.filter(user=user, active=True, org__is_active=True).select_related("org")
    if slug:
        memberships = memberships.filter(org__slug=slug)
        found = list(memberships[:1])
        if not found:
            raise org_not_found(slug)
    else:
        found = list(memberships[:2])
        if not found:
            raise Problem(400, "ORG_REQUIRED", "No organization", "You belong to no organization.")
        if len(found) > 1:
            raise Problem(
                400,
                "ORG_AMBIGUOUS",
                "Organization is ambiguous",
                "You belong to several organizations; choose one with the X-Org header or ?org=<slug>.",
            )
    membership = found[0]
    return Actor(user=user, org=membership.org, role=membership.role, membership_id=membership.pk)
