"""Beacons over the org websocket (phones keep it open anyway), registered with
apps/events/ws_handlers.py by SignalsConfig.ready:

- `{"type": "beacon", "lat": …, "lng": …, "accuracy_m"?, "heading"?, "speed"?, "ref"?}` pings
  the sender's beacon through the same service as POST /v1/signals/beacon (no database write
  after the first ping; the live position published from the event loop, one Redis PUBLISH:
  apps/events/ephemeral.py) →
  `{"type": "beacon.ack", "ref", "beacon_id", "started"}`;
- `{"type": "beacon.stop", "ref"?}` stops it → `{"type": "beacon.stopped", "ref", "beacon_id"}`.

Errors are answered by the consumer as `{"type": "error", "ref", "code", "detail"}`."""

from channels.db import database_sync_to_async

from apps.events.ephemeral import apublish
from apps.events.ws_handlers import register_ws_handler
from apps.signals.services import beacon_envelope, beacon_ping, beacon_stop
from schedkit.api.problems import Problem

BEACON_FIELDS = ("lat", "lng", "accuracy_m", "heading", "speed")
_beacon_ping = database_sync_to_async(beacon_ping)


@register_ws_handler("beacon")
async def beacon_message(actor, message: dict) -> dict:
    # Async: the ping (two cache round trips, the first one's rows) runs in the worker
    # thread, the publish on the event loop, so the thread every socket's handlers share
    # is not held while it is sent.
    unknown = sorted(set(message) - {"type", "ref", *BEACON_FIELDS})
    if unknown or "lat" not in message or "lng" not in message:
        detail = f"Unknown fields: {', '.join(unknown)}." if unknown else "A beacon ping needs lat and lng."
        raise Problem(400, "VALIDATION_ERROR", "Invalid beacon ping", detail)
    fields = {name: message[name] for name in BEACON_FIELDS if name in message}
    position, started = await _beacon_ping(actor=actor, announce=False, **fields)
    if not started:
        await apublish(actor.org_id, beacon_envelope(actor, position))
    return {"type": "beacon.ack", "ref": message.get("ref"), "beacon_id": position["beacon_id"], "started": started}


@register_ws_handler("beacon.stop")
def beacon_stop_message(actor, message: dict) -> dict:
    beacon = beacon_stop(actor=actor)
    return {"type": "beacon.stopped", "ref": message.get("ref"), "beacon_id": str(beacon.pk)}
