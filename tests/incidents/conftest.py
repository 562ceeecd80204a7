import pytest

from apps.incidents import clock


@pytest.fixture
def travel(monkeypatch):
    """Freeze the incidents clock at a given instant: travel(dt)."""

    def go(instant):
        monkeypatch.setattr(clock, "now", lambda: instant)
        return instant

    return go
