"""DRF throttles backed by the default cache (Redis in production). Rates come from
settings.THROTTLE_RATES at request time and accept forms like "60/min" or "5/15min".

Throttles fail open when Redis is busy or down (see `hit`).

Counting is a fixed window: one atomic INCR (+EXPIRE) per request, in one Redis round trip.
DRF's stock throttle keeps a list of every request's timestamp and rewrites it on each
request — racy across processes and O(rate) per request (a 1200/min key pickles up to 1200
floats every call). The trade-off: a client may burst up to twice the rate across a window
boundary."""

import hashlib
import logging
import re
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError
from rest_framework import exceptions, throttling

from schedkit.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^(\d+)/(\d*)([a-z]+)$")
#: What parse_rate accepts, for schemas ("" = the default rate).
RATE_PATTERN = r"^(\d{1,9}/([1-9]\d{0,5})?(s|sec|m|min|h|hour|d|day))?$"


def parse_rate(rate: str | None):
    if not rate:
        return None, None
    match = _RATE_RE.match(rate.strip().lower())
    if not match or match.group(3) not in _UNITS:
        raise ValueError(f"bad throttle rate {rate!r}; use e.g. 60/min or 5/15min")
    count, multiplier, unit = match.groups()
    if multiplier and int(multiplier) < 1:
        raise ValueError(f"bad throttle rate {rate!r}; the window must be at least 1 {unit}")
    return int(count), int(multiplier or 1) * _UNITS[unit]


def hit(key: str, window_seconds: int) -> int:
    """Count one request in a window; returns the count so far. Fails open: with Redis busy
    or down the request is let through (0), since a limit is protection, not the product."""
    try:
        return _hit(key, window_seconds)
    except REDIS_UNAVAILABLE as exc:
        logger.warning("rate limit not counted (Redis unavailable): %s", exc)
        return 0


def _hit(key: str, window_seconds: int) -> int:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        pipe = backend._cache.get_client(write=True).pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        return pipe.execute()[0]
    backend.add(key, 0, window_seconds)
    return backend.incr(key)


def get_and_hit(get_key: str, hits: list[tuple[str, int]]) -> tuple[object, list[int]]:
    """One Redis round trip: read `get_key` from the default cache and count one request in
    each (key, window_seconds) of `hits`. For a caller that needs a small value (an API key's
    version token) and the throttle counters of the same request. Raises REDIS_UNAVAILABLE."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return backend.get(get_key), [_hit(key, seconds) for key, seconds in hits]
    pipe = backend._cache.get_client(write=True).pipeline(transaction=False)
    pipe.get(backend.make_and_validate_key(get_key))
    for key, seconds in hits:
        full_key = backend.make_and_validate_key(key)
        pipe.incr(full_key)
        pipe.expire(full_key, seconds, nx=True)
    results = pipe.execute()
    raw = results[0]
    value = None if raw is None else backend._cache._serializer.loads(raw)
    return value, results[1::2]


def precount_user_throttles(request, view, ident: str) -> list[tuple[str, int]]:
    """The window keys that `view`'s UserRateThrottles will count for `ident` (e.g. "key12"),
    remembered on the request so that those throttles take the count from the caller's round
    trip (`record_precounts`) instead of making their own."""
    hits = []
    for throttle in view.get_throttles() if view is not None else ():
        if isinstance(throttle, UserRateThrottle) and throttle.rate is not None:
            key = throttle.cache_format % {"scope": throttle.scope, "ident": ident}
            hits.append((f"{key}:{int(time.time() // throttle.duration)}", throttle.duration))
    return hits


def record_precounts(request, hits: list[tuple[str, int]], counts: list[int]) -> None:
    request._throttle_precounts = {key: count for (key, _), count in zip(hits, counts, strict=True)}


def validate_rate(value: str) -> None:
    """For model/serializer fields holding a rate ("" means the default)."""
    if value:
        try:
            parse_rate(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def client_ident(request) -> str:
    """The client address as DRF's throttles see it (honours NUM_PROXIES)."""
    return IPRateThrottle().get_ident(request)


def rate_wait(scope: str, ident: str, rate: str | None = None) -> float | None:
    """Count one use by `ident` under `scope` (in the same window counters as the DRF
    throttles of that scope, so a page and its API share one budget). Returns the seconds to
    wait when over the rate, else None. `rate` overrides settings.THROTTLE_RATES[scope]."""
    count, duration = parse_rate(rate or settings.THROTTLE_RATES.get(scope))
    if count is None:
        return None
    now = time.time()
    window = int(now // duration)
    key = throttling.SimpleRateThrottle.cache_format % {"scope": scope, "ident": ident}
    if hit(f"{key}:{window}", duration) <= count:
        return None
    return (window + 1) * duration - now


def enforce_rate(scope: str, ident: str, rate: str | None = None) -> None:
    """rate_wait for API views: raises Throttled (429 RATE_LIMITED + Retry-After)."""
    wait = rate_wait(scope, ident, rate)
    if wait is not None:
        raise exceptions.Throttled(wait=wait)


class SettingsRateMixin:
    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)

    def parse_rate(self, rate):
        return parse_rate(rate)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self._wait = (window + 1) * self.duration - now
        window_key = f"{self.key}:{window}"
        precounted = getattr(request, "_throttle_precounts", None)
        if precounted and window_key in precounted:
            return precounted.pop(window_key) <= self.num_requests  # counted in the auth's round trip
        return hit(window_key, self.duration) <= self.num_requests

    def wait(self):
        return self._wait


class AnonRateThrottle(SettingsRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(SettingsRateMixin, throttling.UserRateThrottle):
    def get_cache_key(self, request, view):
        if not request.user.is_authenticated:
            return None
        key = getattr(request, "auth", None)
        ident = f"key{key.pk}" if getattr(key, "pk", None) else f"user{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IPRateThrottle(SettingsRateMixin, throttling.SimpleRateThrottle):
    """Per client address, for anonymous and authenticated alike (login endpoints)."""

    def get_cache_key(self, request, view):
        if getattr(request, "method", None) == "OPTIONS":
            return None  # a CORS preflight must not spend the sign-in or booking budget
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class EmailRateThrottle(SettingsRateMixin, throttling.SimpleRateThrottle):
    """Per target email address, read from the request body."""

    def get_cache_key(self, request, view):
        if getattr(request, "method", None) == "OPTIONS":
            return None
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email:
            return None
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}
