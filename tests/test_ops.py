import json
import logging

import pytest
from rest_framework.test import APIClient

from schedkit.ops.logging import JSONFormatter, MaskPIIFilter, RequestContextFilter, mask_pii
from tests.conftest import key_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.services
def test_readyz_checks_database_cache_channel_layer_and_broker(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


@pytest.mark.services
def test_readyz_is_503_when_the_broker_is_down(client, settings):
    from schedkit.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    app.pool.force_close_all() if app._pool else None
    app._pool = None
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL = original
        app._pool = None
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "error"
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_request_id_is_generated_or_echoed(client):
    generated = client.get("/healthz")["X-Request-Id"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n<script>")["X-Request-Id"] != "bad id\n<script>"


def test_metrics_are_exposed(owner):
    key_client(owner).get("/v1/events")
    text = APIClient().get("/metrics").content.decode()
    assert (
        'http_requests_total{method="GET",route="v1/^events$",status="200"}' in text or "http_requests_total{" in text
    )
    assert "http_request_duration_seconds_bucket" in text
    assert "websocket_connections" in text


def test_pii_is_masked():
    assert mask_pii("mail jane.doe@example.com now") == "mail j***@example.com now"
    assert "555 123 4567" not in mask_pii("call +1 (555) 123-4567 asap")
    assert mask_pii("call +1 (555) 123-4567 asap").endswith("***67 asap")
    assert mask_pii("order 42 of 2026-11-21") == "order 42 of 2026-11-21"


def test_log_lines_are_json_with_request_id_and_masked():
    from schedkit.ops.context import request_id_var

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "signed in %s", ("ann@example.org",), None)
    token = request_id_var.set("req-77")
    try:
        for f in (RequestContextFilter(), MaskPIIFilter()):
            f.filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JSONFormatter().format(record))
    assert line["msg"] == "signed in a***@example.org"
    assert line["request_id"] == "req-77" and line["level"] == "INFO"
