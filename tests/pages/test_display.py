"""The one formatting helper: zones, 24 h, labels, names in activity lines."""

import zoneinfo
from datetime import UTC, datetime
from types import SimpleNamespace

from django.template import Context, Template

from schedkit import display

AT = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def test_format_when_is_24h_in_the_given_zone():
    assert display.format_when(AT, "Europe/Berlin") == "Fri 4 Dec 2026, 09:00 CET"
    assert display.format_when(AT, zoneinfo.ZoneInfo("America/New_York"), "time") == "03:00 EST"
    assert display.format_when(None) == ""


def test_staff_zone_prefers_the_users_own_zone_then_the_orgs():
    org = SimpleNamespace(timezone="Europe/Berlin")
    assert str(display.staff_zone(user=SimpleNamespace(timezone="UTC"), org=org)) == "Europe/Berlin"
    assert str(display.staff_zone(user=SimpleNamespace(timezone="Asia/Tokyo"), org=org)) == "Asia/Tokyo"
    assert str(display.customer_zone("", fallback="America/Chicago")) == "America/Chicago"
    assert str(display.customer_zone("nowhere/Atlantis")) == "UTC"


def test_labels_and_activity_lines_read_as_words():
    assert display.label("in_progress") == "In Progress"
    entry = SimpleNamespace(verb="assigned", field="assignees", old="", new="m1,m2", actor_id=None, actor_label="x")
    assert display.activity_text(entry, {"m1": "Ada Lovelace"}) == "assigned Ada Lovelace, a former member"
    moved = SimpleNamespace(verb="transitioned", field="status", old="open", new="in_progress")
    assert display.activity_text(moved, {}) == "changed status from Open to In Progress"
    assert display.actor_name(entry) == "X"


def test_template_filters():
    out = Template("{% load schedkit_time %}{{ at|when:'Europe/Berlin' }}|{{ v|label }}").render(
        Context({"at": AT, "v": "at_risk"})
    )
    assert out == "Fri 4 Dec 2026, 09:00 CET|At Risk"
