"""The org's live event stream over a websocket: /ws/orgs/{slug}/.

The consumer only authenticates, authorizes the group join by membership, and forwards
events; fan-out is per org group on the channel layer (Redis in production), so every
server process delivers every event of the orgs its clients belong to."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.events.publish import org_group
from apps.orgs.models import Membership
from schedkit.ops import metrics

CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _authorized_org_id(user, api_key, slug):
    if api_key is not None:
        return api_key.org_id if api_key.org.slug == slug else None
    if not user or not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, active=True, org__slug=slug, org__is_active=True)
        .values_list("org_id", flat=True)
        .first()
    )


class OrgEventsConsumer(AsyncJsonWebsocketConsumer):
    group = None

    async def connect(self):
        slug = self.scope["url_route"]["kwargs"]["org_slug"]
        org_id = await _authorized_org_id(self.scope.get("user"), self.scope.get("api_key"), slug)
        if org_id is None:
            await self.close(code=CLOSE_FORBIDDEN)  # before accept: the handshake is refused (403)
            return
        self.group = org_group(org_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        metrics.WS_CONNECTIONS.inc()
        await self.send_json({"type": "connected", "org": slug})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            metrics.WS_CONNECTIONS.dec()

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "code": "UNSUPPORTED_MESSAGE", "detail": 'This socket accepts {"type": "ping"}.'}
            )

    async def event_message(self, message):
        await self.send_json(message["event"])
