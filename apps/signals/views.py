"""Dispatcher pages: the live map of beacons and alerts (include apps.signals.urls at the root)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

import schedkit.display as display
from apps.incidents import clock
from apps.incidents import selectors as incident_selectors
from apps.orgs.roles import SCHEDULERS
from apps.orgs.tenancy import resolve_actor
from apps.signals import conf, selectors
from apps.signals.models import Signal
from schedkit.api.problems import Problem
from schedkit.maps import base_map_config

RECENT_ALERTS = 20
RECENT_INCIDENTS = 500


def _problem_page(request, problem: Problem):
    return render(request, "signals/problem.html", {"problem": problem}, status=problem.status_code)


@login_required
def live_map(request):
    """Active beacons (live positions from the cache) and recent alerts, kept live over the
    org websocket by static/signals/map.js. Dispatchers only (scheduler and above)."""
    try:
        actor = resolve_actor(request, require_org=True)
    except Problem as problem:
        return _problem_page(request, problem)
    if actor.role not in SCHEDULERS:
        return _problem_page(
            request, Problem(403, "PERMISSION_DENIED", "Dispatchers only", "The live map is for schedulers and above.")
        )
    context = {"org": actor.org, **live_map_context(actor, zone=display.staff_zone(user=request.user, org=actor.org))}
    return render(request, "signals/map.html", context)


def live_map_context(actor, *, zone, own_socket: bool = True) -> dict:
    """What templates/signals/partials/live_map.html draws: beacons, recent alerts, the active
    incidents with a location, and the base map config (the map page and the war room)."""
    beacons = list(selectors.active_beacons(fetched_by=actor)[:500])
    positions = selectors.live_positions(beacons)
    markers = []
    for beacon in beacons:
        position = positions.get(beacon.pk)
        markers.append(
            {
                "beacon_id": str(beacon.pk),
                "membership_id": str(beacon.membership_id),
                "name": (beacon.user.name or beacon.user.email) if beacon.user else "",
                "lat": position["lat"] if position else beacon.lat,
                "lng": position["lng"] if position else beacon.lng,
                "ts": position["ts"] if position else beacon.started_at.isoformat(),
                "stale": position is None,
            }
        )
    alerts = [
        {
            "id": str(s.pk),
            "title": s.title or s.text[:80],
            "text": s.text,
            "lat": s.lat,
            "lng": s.lng,
            "ts": s.created_at.isoformat(),
        }
        for s in selectors.signal_list(fetched_by=actor).filter(type=Signal.Type.ALERT)[:RECENT_ALERTS]
    ]
    now = clock.now()
    incidents = [
        {
            "id": str(i.pk),
            "title": i.title,
            "priority": i.priority,
            "status": i.status,
            "sla": i.sla_status_at(now),
            "lat": i.lat,
            "lng": i.lng,
        }
        for i in incident_selectors.incident_list(fetched_by=actor, filters={"status": "open,in_progress"})
        .filter(lat__isnull=False)
        .order_by("sla_due_at")[:RECENT_INCIDENTS]
    ]
    config = {
        "org": actor.org.slug,
        **base_map_config(),
        "staleAfterSeconds": conf.beacon_timeout(),
        "timezone": getattr(zone, "key", "UTC"),
        "ownSocket": own_socket,  # False: the page's socket (the war room's board.js) forwards events
    }
    return {"markers": markers, "alerts": alerts, "incidents": incidents, "map_config": config}


def war_room_map(request, actor) -> dict | None:
    """The war room's map panel (registered with apps.incidents.panels): dispatchers only."""
    if actor.role not in SCHEDULERS:
        return None
    zone = display.staff_zone(user=request.user, org=actor.org)
    return {
        "template": "signals/partials/war_room_map.html",
        "context": {**live_map_context(actor, zone=zone, own_socket=False), "compact": True},
        "styles": ["vendor/leaflet/leaflet.css", "signals/map.css"],
        "scripts": ["vendor/leaflet/leaflet.js", "js/basemap.js", "signals/map.js"],
    }
