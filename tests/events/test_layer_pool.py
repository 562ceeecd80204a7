"""The channel layer's Redis pool is bounded and waits a bounded time (issue 17): a send that
finds every connection taken waits up to `pool_timeout`, then fails with a ConnectionError
(counted as a broadcast failure), and works again once a connection is free. Real Redis."""

import asyncio
import os
import time

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.events.layers import RedisLayer

pytestmark = pytest.mark.services


def _layer(**config) -> RedisLayer:
    address = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1")
    return RedisLayer(hosts=[{"address": address, "socket_timeout": 15}], prefix="test-layer-pool", **config)


def test_the_settings_layer_is_bounded():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    pool = layer.create_pool(0)
    assert isinstance(pool, aioredis.BlockingConnectionPool)
    assert pool.max_connections == layer.max_connections == 50


def test_an_exhausted_pool_waits_then_fails_then_recovers():
    layer = _layer(max_connections=1, pool_timeout=0.3)

    async def scenario():
        await layer.group_add("pool-test", "specific.x!y")  # opens the pool's one connection
        pool = layer.connection(0).connection_pool
        held = await pool.get_connection()  # every connection taken
        started = time.monotonic()
        with pytest.raises(RedisConnectionError):
            await layer.group_send("pool-test", {"type": "x"})
        waited = time.monotonic() - started
        await pool.release(held)
        await layer.group_send("pool-test", {"type": "x"})  # a free connection again: it works
        await layer.flush()
        return waited

    waited = asyncio.run(scenario())
    assert 0.25 <= waited < 2.0
