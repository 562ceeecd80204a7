"""Reads that cross the tenant line: signals and live beacon positions."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from apps.orgs.tenancy import Actor
from apps.signals import conf
from apps.signals.models import Beacon, Signal
from apps.signals.services import live_key


def signal_list(*, fetched_by: Actor):
    return Signal.objects.for_actor(fetched_by).select_related("user")


def access_signal(actor: Actor, signal_id) -> Signal:
    return Signal.objects.access(actor, signal_id)


def live_positions(beacons) -> dict:
    """{beacon id: live position} for these beacons, one cache round trip; positions older
    than the beacon timeout are left out (correct even before the sweep has run)."""
    keyed = [(live_key(b.org_id, b.membership_id), b) for b in beacons]  # each key made once
    found = cache.get_many([key for key, _beacon in keyed])
    cutoff = timezone.now().timestamp() - conf.beacon_timeout()
    positions = {}
    for key, beacon in keyed:
        position = found.get(key)
        if position and position.get("beacon_id") == str(beacon.pk):
            if datetime.fromisoformat(position["ts"]).timestamp() >= cutoff:
                positions[beacon.pk] = position
    return positions


def active_beacons(*, fetched_by: Actor):
    return Beacon.objects.for_actor(fetched_by).active().select_related("user")
