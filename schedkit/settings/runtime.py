"""Database, cache and channel layer: the only place where the two topologies differ.

Pool sizes (README "Pools and back-pressure"): a server process runs each in-flight sync
request in its own thread, and a thread holds at most one PostgreSQL and one Redis connection
at a time. So a process needs about WEB_MAX_THREADS database connections and as many Redis
ones; beyond that a request *waits* a bounded time (DB_POOL_TIMEOUT, REDIS_POOL_TIMEOUT) and
is then answered 503 SERVICE_BUSY with Retry-After, never a 500. With P server processes and
C Celery worker slots, PostgreSQL sees at most P × DB_POOL_MAX + C connections: keep that
under its max_connections (100 by default)."""

import dj_database_url

from .base import VAR_DIR
from .env import env_bool, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", "")
REDIS_URL = env_str("REDIS_URL", "")
EMBEDDED = not DATABASE_URL and not REDIS_URL

# Requests one server process serves concurrently in threads (sync views, middleware).
WEB_MAX_THREADS = env_int("WEB_MAX_THREADS", 10)
DB_POOL_MAX = env_int("DB_POOL_MAX", WEB_MAX_THREADS)
DB_POOL_TIMEOUT = float(env_str("DB_POOL_TIMEOUT", "5"))  # seconds a request waits for a connection
REDIS_POOL_MAX = env_int("REDIS_POOL_MAX", 2 * WEB_MAX_THREADS)  # + websocket/SSE consumers' cache reads
REDIS_POOL_TIMEOUT = float(env_str("REDIS_POOL_TIMEOUT", "2"))
REDIS_SOCKET_TIMEOUT = float(env_str("REDIS_SOCKET_TIMEOUT", "5"))  # a hung Redis is an error, not a hang

if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
        # psycopg 3 pool (Django >= 5.1): ASGI-friendly connection reuse.
        _db["OPTIONS"] = {
            **_db.get("OPTIONS", {}),
            "pool": {
                "min_size": min(env_int("DB_POOL_MIN", 1), DB_POOL_MAX),
                "max_size": DB_POOL_MAX,
                "timeout": DB_POOL_TIMEOUT,  # then PoolTimeout → 503 SERVICE_BUSY
            },
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "schedkit.sqlite3"),
        "OPTIONS": {
            # WAL + IMMEDIATE: web threads and the in-process worker share the file safely.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
_db.setdefault("TEST", {})
if env_str("TEST_DATABASE_NAME"):
    _db["TEST"]["NAME"] = env_str("TEST_DATABASE_NAME")
DATABASES = {"default": _db}

KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "schedkit")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "schedkit.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": KEY_PREFIX,
            "OPTIONS": {
                # wait (bounded) for a free connection instead of failing (schedkit/cache.py)
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": REDIS_POOL_MAX,
                "timeout": REDIS_POOL_TIMEOUT,
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "health_check_interval": 30,
            },
        }
    }
    # The channel layer's connections (websocket and SSE subscribers) sit idle in a blocking
    # read for minutes: the socket timeout must be well above that read (apps/events/layers.py
    # derives it: a third of the socket timeout, at most 5 s), TCP keepalive and a health check
    # notice a connection that died quietly, and subscribers retry a dropped one
    # (apps/events/live.py). CHANNEL_REDIS_URL may point the layer at its own Redis.
    CHANNEL_REDIS_SOCKET_TIMEOUT = float(env_str("CHANNEL_REDIS_SOCKET_TIMEOUT", "15"))
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "apps.events.layers.RedisLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": env_str("CHANNEL_REDIS_URL", REDIS_URL),
                        "socket_timeout": CHANNEL_REDIS_SOCKET_TIMEOUT,
                        "socket_connect_timeout": min(5.0, CHANNEL_REDIS_SOCKET_TIMEOUT),
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "prefix": f"{KEY_PREFIX}:ch",
                # a burst of events must not overflow a subscriber's queue (default 100)
                "capacity": 1000,
                # a bounded pool that waits (apps/events/layers.py)
                "max_connections": env_int("CHANNEL_REDIS_POOL_MAX", 50),
                "pool_timeout": float(env_str("CHANNEL_REDIS_POOL_TIMEOUT", "2")),
            },
        }
    }
    if env_str("CHANNEL_LAYER_VARIANT", "redis") == "pubsub":
        # Measured by bench/signals.py only (bench/README.md): one PUBLISH per group send,
        # fanned out in each process, but it never reports a lost connection to its readers
        # (no gap replay after an outage), so it is not the production layer.
        CHANNEL_LAYERS["default"] = {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"], "prefix": f"{KEY_PREFIX}:ch"},
        }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# free/busy keeps the stable part of its answers per process under each org's time version
# in the shared cache (apps/scheduling/time_version.py). Only with Redis: a locmem token is
# one process's, and a management command's writes (another process) would not reach it.
FREEBUSY_CACHE = env_bool("FREEBUSY_CACHE", bool(REDIS_URL))

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"

# Worker threads per ASGI process for sync views (schedkit/asgi_http.py); 0 = the default
# (1 on SQLite, else 2).
ASGI_SYNC_THREADS = env_int("ASGI_SYNC_THREADS", 0)
