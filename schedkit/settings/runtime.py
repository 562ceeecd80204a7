"""Database, cache and channel layer: the only place where the two topologies differ."""

import dj_database_url

from .base import VAR_DIR
from .env import env_bool, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", "")
REDIS_URL = env_str("REDIS_URL", "")
EMBEDDED = not DATABASE_URL and not REDIS_URL

if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", True):
        # psycopg 3 pool (Django >= 5.1): ASGI-friendly connection reuse.
        _db["OPTIONS"] = {
            **_db.get("OPTIONS", {}),
            "pool": {
                "min_size": env_int("DB_POOL_MIN", 1),
                "max_size": env_int("DB_POOL_MAX", 10),
                "timeout": 10,
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
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
