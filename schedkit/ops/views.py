"""Liveness, readiness and metrics."""

import hmac
import ipaddress
import time

from asgiref.sync import async_to_sync
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from schedkit.ops import metrics


def healthz(request):
    """The process is up. Also the benchmark's bare-Django baseline view."""
    return JsonResponse({"status": "ok"})


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache():
    key = "readyz:probe"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value written")


def _check_channel_layer():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    async_to_sync(layer.group_send)("readyz", {"type": "readyz.probe"})


def _check_broker():
    app = current_app  # the project's Celery app (schedkit.celery sets itself current)
    if settings.CELERY_BROKER_URL.startswith("memory"):
        return  # in-process broker: up while this process is
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {
    "database": _check_database,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
    "broker": _check_broker,
}


def readyz(request):
    results, ready = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            results[name] = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            ready = False
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": results}, status=200 if ready else 503
    )


def metrics_allowed(request) -> bool:
    """With METRICS_TOKEN set, only `Authorization: Bearer <token>` reads the metrics; without
    it, only clients whose address is in METRICS_ALLOWED_NETWORKS (loopback and private
    ranges by default — behind a reverse proxy on the same network, set METRICS_TOKEN)."""
    token = settings.METRICS_TOKEN
    if token:
        presented = request.headers.get("Authorization", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    if not metrics_allowed(request):
        return HttpResponse("Not found", status=404, content_type="text/plain")  # not advertised
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
