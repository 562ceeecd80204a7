import time
import uuid

import pytest

from apps.orgs.models import Org
from schedkit.ids import uuid7, uuid7_time_ms


def test_uuid7_layout_and_time():
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert before <= uuid7_time_ms(value) <= after + 1


def test_uuid7_is_monotonic_and_unique():
    values = [uuid7() for _ in range(20_000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


@pytest.mark.django_db
def test_models_use_uuid7_primary_keys():
    org = Org.objects.create(slug="ids", name="Ids")
    assert org.pk.version == 7
