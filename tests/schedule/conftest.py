import pytest

from apps.orgs.models import Role
from tests.conftest import key_client


@pytest.fixture
def scheduler(org, make_member):
    return make_member(org, Role.SCHEDULER)


@pytest.fixture
def api(scheduler):
    return key_client(scheduler)
