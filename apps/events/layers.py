"""The channel layer of the Redis topology: channels-redis whose blocking read always ends
before the Redis client's socket timeout.

channels-redis waits for a subscriber's next message with `BZPOPMIN … timeout` (5 s by
default) and loops. If the client's socket timeout is not comfortably longer, every idle wait
ends in `redis.exceptions.TimeoutError` instead of an empty result, and the consumer reading
it dies. This layer takes the blocking timeout from its config (`blocking_timeout`), or
derives it from the hosts' `socket_timeout` (a third of it, at most 5 s), and refuses a
configuration where the blocking read would outlast the socket. Settings build the hosts in
`schedkit/settings/runtime.py` (socket timeout, TCP keepalive, health checks).

Its connection pool is bounded and waits: channels-redis' own pool grows without limit (a
burst of group sends can exhaust Redis' maxclients), so each host gets a
`BlockingConnectionPool` of `max_connections` (CHANNEL_REDIS_POOL_MAX) that waits up to
`pool_timeout` seconds (CHANNEL_REDIS_POOL_TIMEOUT) for a free connection and then raises
`redis.exceptions.ConnectionError` — which the publisher counts as a broadcast failure and the
stream consumers treat like a dropped connection (they retry)."""

from channels_redis.core import RedisChannelLayer
from django.core.exceptions import ImproperlyConfigured
from redis import asyncio as aioredis

DEFAULT_BLOCKING_TIMEOUT = 5.0


class RedisLayer(RedisChannelLayer):
    def __init__(
        self,
        *args,
        blocking_timeout: float | None = None,
        max_connections: int = 50,
        pool_timeout: float = 2.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.max_connections, self.pool_timeout = int(max_connections), float(pool_timeout)
        socket_timeouts = [float(h["socket_timeout"]) for h in self.hosts if h.get("socket_timeout")]
        if blocking_timeout is None:
            blocking_timeout = min([DEFAULT_BLOCKING_TIMEOUT, *(t / 3 for t in socket_timeouts)])
        blocking_timeout = float(blocking_timeout)
        if any(blocking_timeout >= t for t in socket_timeouts):
            raise ImproperlyConfigured(
                f"channel layer: the blocking read ({blocking_timeout} s) must end before the Redis "
                f"socket timeout ({min(socket_timeouts)} s)"
            )
        self.brpop_timeout = blocking_timeout

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinel or keyword hosts: channels-redis' own pool
            return super().create_pool(index)
        return aioredis.BlockingConnectionPool.from_url(
            host.pop("address"), max_connections=self.max_connections, timeout=self.pool_timeout, **host
        )
