"""Django's Redis cache with one bounded, blocking connection pool per process.

Under ASGI every request runs in its own context, and Django's `caches` are context-local:
the stock backend therefore builds a new client, a new connection pool and a new TCP
connection to Redis for every request (profiled: ~15 % of an API request's time), and a new
redis-py client object for every command (~0.2 ms each). Pools and clients are thread-safe,
so this backend shares one of each per server URL for the whole process.

Back-pressure, not errors (issue 17): the pool is a `redis.BlockingConnectionPool` — a
request that finds every connection busy waits up to `timeout` seconds (settings
REDIS_POOL_TIMEOUT) instead of failing with MaxConnectionsError. Reads and writes of cached
*copies* degrade when Redis is busy or down: a read is a miss (callers fall back to the
database, e.g. API keys and cached sessions) and a write is skipped, both logged. Deletes are
not softened — an invalidation that did not happen must not pass silently (a revoked key
would keep working from the cache) — and raise, which the API answers 503 SERVICE_BUSY.

`BoundedLRU` is the project's one per-process bounded cache (size and age limits, thread-safe):
new per-process caches use it rather than their own dict or OrderedDict."""

import logging
import threading
import time
from collections import OrderedDict

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)

_pools: dict = {}
_clients: dict = {}
_lock = threading.Lock()
_last_warning = [0.0]


def _warn(operation: str, exc: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] > 5:  # at most one line per 5 s: an outage must not flood the log
        _last_warning[0] = now
        logger.warning("cache %s skipped, Redis unavailable: %s", operation, exc)


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        url = self._servers[self._get_connection_pool_index(write)]
        pool = _pools.get(url)
        if pool is None:
            with _lock:
                pool = _pools.get(url)
                if pool is None:
                    pool = _pools[url] = self._pool_class.from_url(url, **self._pool_options)
        return pool

    def get_client(self, key=None, *, write=False):
        url = self._servers[self._get_connection_pool_index(write)]
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient

    # Copies degrade to a miss / a skipped write (see the module docstring).
    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except REDIS_UNAVAILABLE as exc:
            _warn("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except REDIS_UNAVAILABLE as exc:
            _warn("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except REDIS_UNAVAILABLE as exc:
            _warn("has_key", exc)
            return False

    def set(self, key, value, timeout=None, version=None):
        try:
            return super().set(key, value, timeout, version)
        except REDIS_UNAVAILABLE as exc:
            _warn("set", exc)

    def set_many(self, data, timeout=None, version=None):
        try:
            return super().set_many(data, timeout, version)
        except REDIS_UNAVAILABLE as exc:
            _warn("set_many", exc)
            return list(data)

    def touch(self, key, timeout=None, version=None):
        try:
            return super().touch(key, timeout, version)
        except REDIS_UNAVAILABLE as exc:
            _warn("touch", exc)
            return False


class BoundedLRU:
    """The project's one per-process bounded cache: at most `maxsize` entries, the least
    recently used dropped first, each entry at most `ttl` seconds old (None: no age limit).
    Thread-safe (the threads of an ASGI process share it). What it holds is shared by every
    caller: store immutable values (tuples, frozen dataclasses) or hand out copies."""

    __slots__ = ("maxsize", "ttl", "_data", "_lock")

    def __init__(self, maxsize: int, *, ttl: float | None = None):
        self.maxsize = maxsize
        self.ttl = ttl
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return default
            value, expires = found
            if expires is not None and expires <= time.monotonic():
                del self._data[key]
                return default
            self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        expires = None if self.ttl is None else time.monotonic() + self.ttl
        with self._lock:
            self._data[key] = (value, expires)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def pop(self, key, default=None):
        with self._lock:
            found = self._data.pop(key, None)
        return default if found is None else found[0]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
