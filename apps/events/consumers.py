"""The org's live event stream over a websocket: /ws/orgs/{slug}/.

The consumer only authenticates, authorizes the group join by membership, and forwards
events; fan-out is per org group on the channel layer (Redis in production), so every
server process delivers every event of the orgs its clients belong to.

Clients may also send their own beacon over the socket (phones keep it open anyway):
`{"type": "beacon", "lat": …, "lng": …, "accuracy_m"?, "heading"?, "speed"?, "ref"?}` pings
the sender's beacon through the same service as POST /v1/signals/beacon (no database write
after the first ping) and `{"type": "beacon.stop"}` stops it. Each is answered with
`{"type": "beacon.ack", "ref", "beacon_id", "started"}` or an error message."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError

from apps.events.publish import org_group
from apps.orgs.models import Membership
from apps.orgs.tenancy import Actor
from schedkit.api.problems import Problem
from schedkit.ops import metrics

CLOSE_FORBIDDEN = 4403
BEACON_FIELDS = ("lat", "lng", "accuracy_m", "heading", "speed")


@database_sync_to_async
def _authorized_actor(user, api_key, slug) -> Actor | None:
    if api_key is not None:
        if api_key.org.slug != slug:
            return None
        return Actor(
            user=user, org=api_key.org, role=api_key.role, membership_id=api_key.membership_id, api_key=api_key
        )
    if not user or not user.is_authenticated:
        return None
    membership = (
        Membership.objects.filter(user=user, active=True, org__slug=slug, org__is_active=True)
        .select_related("org")
        .first()
    )
    if membership is None:
        return None
    return Actor(user=user, org=membership.org, role=membership.role, membership_id=membership.pk)


@database_sync_to_async
def _beacon_ping(actor, fields):
    from apps.signals.services import beacon_ping

    return beacon_ping(actor=actor, **fields)


@database_sync_to_async
def _beacon_stop(actor):
    from apps.signals.services import beacon_stop

    return beacon_stop(actor=actor)


class OrgEventsConsumer(AsyncJsonWebsocketConsumer):
    group = None
    actor = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["org_slug"]
        actor = await _authorized_actor(self.scope.get("user"), self.scope.get("api_key"), slug)
        if actor is None:
            await self.close(code=CLOSE_FORBIDDEN)  # before accept: the handshake is refused (403)
            return
        self.actor = actor
        self.group = org_group(actor.org_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        metrics.WS_CONNECTIONS.inc()
        await self.send_json({"type": "connected", "org": slug})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            metrics.WS_CONNECTIONS.dec()

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "beacon":
            await self._beacon(content)
        elif kind == "beacon.stop":
            await self._beacon_stop(content)
        else:
            await self.send_json(
                {
                    "type": "error",
                    "code": "UNSUPPORTED_MESSAGE",
                    "detail": 'This socket accepts {"type": "ping"}, {"type": "beacon", "lat", "lng"} and '
                    '{"type": "beacon.stop"}.',
                }
            )

    async def _beacon(self, content):
        unknown = sorted(set(content) - {"type", "ref", *BEACON_FIELDS})
        if unknown or "lat" not in content or "lng" not in content:
            detail = f"Unknown fields: {', '.join(unknown)}." if unknown else "A beacon ping needs lat and lng."
            await self._error(content, "VALIDATION_ERROR", detail)
            return
        fields = {name: content[name] for name in BEACON_FIELDS if name in content}
        try:
            position, started = await _beacon_ping(self.actor, fields)
        except ValidationError as exc:
            await self._error(
                content, "VALIDATION_ERROR", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            )
            return
        except Problem as exc:
            await self._error(content, exc.code, str(exc.detail))
            return
        await self.send_json(
            {"type": "beacon.ack", "ref": content.get("ref"), "beacon_id": position["beacon_id"], "started": started}
        )

    async def _beacon_stop(self, content):
        try:
            beacon = await _beacon_stop(self.actor)
        except Problem as exc:
            await self._error(content, exc.code, str(exc.detail))
            return
        await self.send_json({"type": "beacon.stopped", "ref": content.get("ref"), "beacon_id": str(beacon.pk)})

    async def _error(self, content, code, detail):
        await self.send_json({"type": "error", "ref": content.get("ref"), "code": code, "detail": detail})

    async def event_message(self, message):
        await self.send_json(message["event"])
