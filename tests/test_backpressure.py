"""Back-pressure instead of 500 (issue 17), over real HTTP on real server processes: a burst
on deliberately small pools, a Redis outage, oversized bodies refused before they are read,
and huge headers. Only 2xx, 4xx and 503 (with Retry-After and problem+json) may come back."""

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections import Counter

import httpx
import pytest
import redis

from apps.orgs.models import Role
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.servers import asgi_server, free_port, server_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
BURST = 200
UNLIMITED = {"THROTTLE_USER": "1000000/min", "THROTTLE_ANON": "1000000/min"}


async def _burst(base_urls, raw_key, count=BURST):
    headers = {"Authorization": f"Bearer {raw_key}"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as client:

        async def one(i):
            base = base_urls[i % len(base_urls)]
            if i % 4 == 0:
                response = await client.post(f"{base}/v1/incidents", json={"title": f"Burst {i}"}, headers=headers)
            elif i % 4 == 1:
                response = await client.post(
                    f"{base}/v1/incidents",
                    json={"title": f"Burst {i}"},
                    headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                )
            elif i % 4 == 2:
                response = await client.get(f"{base}/v1/events", headers=headers)
            else:
                response = await client.post(f"{base}/v1/signals/beacon", json={"lat": 1, "lng": 2}, headers=headers)
            return response

        return await asyncio.gather(*(one(i) for i in range(count)))


def _assert_no_server_errors(responses):
    statuses = Counter(r.status_code for r in responses)
    bad = {s: n for s, n in statuses.items() if s >= 500 and s != 503}
    assert not bad, (statuses, [r.text[:200] for r in responses if r.status_code in bad][:3])
    for response in responses:
        if response.status_code == 503:
            assert response.headers["Content-Type"] == "application/problem+json", response.text[:200]
            assert response.json()["code"] == "SERVICE_BUSY"
            assert int(response.headers["Retry-After"]) >= 1
    print("statuses:", dict(statuses))
    return statuses


def test_a_burst_on_small_pools_is_only_2xx_4xx_or_503(org):
    raw_key = key_client(MembershipFactory(org=org, role=Role.ADMIN)).raw_key
    env = server_env(
        **UNLIMITED,
        DB_POOL="true",
        DB_POOL_MIN="1",
        DB_POOL_MAX="2",
        DB_POOL_TIMEOUT="1.5",
        REDIS_POOL_MAX="2",
        REDIS_POOL_TIMEOUT="1",
    )
    with asgi_server(env) as one, asgi_server(env) as two:
        statuses = _assert_no_server_errors(asyncio.run(_burst([one.base_url, two.base_url], raw_key)))
        assert sum(n for s, n in statuses.items() if s < 300) > 0, statuses  # work still got done
        # and the servers recover: after the burst every request succeeds
        assert httpx.get(f"{one.base_url}/v1/events", headers={"Authorization": f"Bearer {raw_key}"}).status_code == 200


@pytest.fixture
def own_redis():
    """A Redis of our own, so a test can stop it (never the shared one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed for the outage test")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    proc.url = url
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_redis_outage_is_503_or_degraded_never_500(org, own_redis):
    raw_key = key_client(MembershipFactory(org=org, role=Role.ADMIN)).raw_key
    env = server_env(
        **UNLIMITED,
        REDIS_URL=own_redis.url,
        CELERY_BROKER_URL=own_redis.url,
        REDIS_POOL_TIMEOUT="0.2",
        REDIS_SOCKET_TIMEOUT="0.5",
    )
    with asgi_server(env) as server:
        headers = {"Authorization": f"Bearer {raw_key}"}
        assert httpx.get(f"{server.base_url}/v1/events", headers=headers).status_code == 200
        own_redis.terminate()
        own_redis.wait(timeout=10)
        responses = asyncio.run(_burst([server.base_url], raw_key, count=40))
        statuses = _assert_no_server_errors(responses)
        # reads degrade: the API key resolves from the database and the throttle fails open
        events = httpx.get(f"{server.base_url}/v1/events", headers=headers, timeout=30)
        assert events.status_code == 200, (statuses, events.text[:300])
        readyz = httpx.get(f"{server.base_url}/readyz", timeout=30)
        assert readyz.status_code == 503


def _raw_request(port: int, head: bytes, body: bytes = b"", read_timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(head + body)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunks[-1]:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def test_oversized_bodies_are_refused_before_they_are_read(org):
    raw_key = key_client(MembershipFactory(org=org, role=Role.ADMIN)).raw_key
    with asgi_server(server_env(**UNLIMITED)) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        declared = 50 * 1024 * 1024
        sent = 64 * 1024  # only this much of the declared 50 MB is ever sent
        for path, content_type in [
            ("/v1/signals", "multipart/form-data; boundary=x"),
            ("/v1/incidents", "application/json"),
        ]:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {raw_key}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {declared}\r\n\r\n"
            ).encode()
            answer = _raw_request(port, head, b"x" * sent)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
            assert b"application/problem+json" in answer and b"REQUEST_TOO_LARGE" in answer
        # a body without a length is counted as it arrives and cut at the limit
        head = (
            f"POST /v1/incidents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {raw_key}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(50)) + b"0\r\n\r\n"
        answer = _raw_request(port, head, body)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        # the server is fine afterwards
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_huge_headers_are_a_4xx_not_a_500():
    with asgi_server(server_env(**UNLIMITED)) as server:
        for size in (16 * 1024, 200 * 1024):
            try:
                response = httpx.get(f"{server.base_url}/v1/auth/me", headers={"X-Huge": "a" * size}, timeout=10)
                status = response.status_code
            except httpx.RemoteProtocolError:
                status = 400  # the server closed the connection on the oversized head: refused, not crashed
            assert 400 <= status < 500, status
        many = {f"X-H{i}": "v" for i in range(500)}
        assert httpx.get(f"{server.base_url}/v1/auth/me", headers=many, timeout=10).status_code < 500
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
