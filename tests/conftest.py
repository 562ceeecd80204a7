import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create
from apps.orgs.models import Role
from tests.factories import MembershipFactory, OrgFactory, actor_for
from tests.servers import asgi_server, server_env

PRODUCTION_TOPOLOGY = settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and bool(settings.REDIS_URL)

# Files that take minutes on their own run first, so under pytest-xdist (bin/test) one worker
# takes them while the others share the rest — last, they were the suite's tail alone.
LONGEST_FIRST = ("tests/test_fuzz.py",)


def pytest_collection_modifyitems(config, items):
    """The longest files first (the same order in every xdist worker). Tests marked
    `services` need PostgreSQL + Redis. Under `make test` they must run
    (SCHEDKIT_REQUIRE_SERVICES=1 turns a missing service into a failure, not a skip)."""
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in LONGEST_FIRST)  # stable: else as collected
    if PRODUCTION_TOPOLOGY:
        return
    if os.environ.get("SCHEDKIT_REQUIRE_SERVICES"):
        raise pytest.UsageError("SCHEDKIT_REQUIRE_SERVICES is set but DATABASE_URL/REDIS_URL are not PostgreSQL/Redis")
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _celery_tasks_run_inline():
    """Tasks run inline (the real task code, on commit) unless a test starts a real worker
    (tests/test_events.py: celery_worker_thread)."""
    from schedkit.celery import app

    app.conf.task_always_eager = True
    yield


def _closed(pool) -> bool:
    if pool is None:
        return False
    return bool(getattr(pool, "_closed", False) or getattr(getattr(pool, "connections", None), "_closed", False))


@pytest.fixture(autouse=True)
def _celery_pools_open():
    """A test that ran a real worker (or broke the broker on purpose) may leave the app's
    connection pool closed; every test starts with a usable producer pool."""
    from kombu import pools

    from schedkit.celery import app

    app.set_current()  # a test that built another Celery app made it current: shared tasks follow it
    app.set_default()
    app.conf.task_always_eager = True  # tests that start a real worker turn it off themselves
    # kombu keeps connection and producer pools in process-wide registries keyed by broker URL:
    # a pool closed by a worker's shutdown stays registered, and eager apply_async (which still
    # acquires a producer) would get it back. Drop closed pools from the registries too.
    registered = list(pools._all_pools())
    if any(_closed(p) for p in [app._pool, app.amqp._producer_pool, *registered]):
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
    yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads (captures) land in a per-test folder, never in var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters and cached state never leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _no_real_outbound_http(monkeypatch):
    """Tests never reach the internet; outside services are faked at the HTTP boundary."""
    import socket

    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1") or "/" in host):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def make_org(db):
    return lambda **kwargs: OrgFactory(**kwargs)


@pytest.fixture
def make_member(db):
    def make(org, role=Role.MEMBER, **kwargs):
        return MembershipFactory(org=org, role=role, **kwargs)

    return make


@pytest.fixture
def org(make_org):
    return make_org()


@pytest.fixture
def owner(org, make_member):
    return make_member(org, Role.OWNER)


def key_client(membership) -> APIClient:
    """An API client authenticated with a fresh API key of this membership."""
    _, raw = api_key_create(actor=actor_for(membership), name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw
    return client


@pytest.fixture
def client_for():
    return key_client


@pytest.fixture
def session_client():
    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture(scope="module")
def two_servers(django_db_setup, django_db_blocker):
    """Two ASGI server processes on the test database, shared by a module's tests."""
    with django_db_blocker.unblock():
        env = server_env()
        with asgi_server(env) as a, asgi_server(env) as b:
            yield a, b
