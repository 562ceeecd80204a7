"""SLA windows, the at-risk boundary, DST, and the breach scan (exactly once, notified)."""

import threading
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection

from apps.events.models import Event
from apps.incidents import services
from apps.incidents.models import Activity, Incident, Priority, SlaStatus, Status
from apps.orgs.models import Role
from tests.conftest import key_client
from tests.factories import actor_for
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WINDOWS = {"urgent": 1, "high": 4, "normal": 24, "low": 48}


@pytest.mark.parametrize(("priority", "hours"), WINDOWS.items())
def test_window_per_priority(org, travel, priority, hours):
    travel(T0)
    incident = make_incident(org, priority=priority)
    assert incident.created_at == T0
    assert incident.sla_due_at == T0 + timedelta(hours=hours)
    assert incident.sla_due_at.utcoffset() == timedelta(0)


def test_org_override_in_minutes(org, travel):
    org.settings = {"sla_minutes": {"urgent": 30, "low": "junk"}}
    org.save()
    travel(T0)
    assert make_incident(org, priority="urgent").sla_due_at == T0 + timedelta(minutes=30)
    assert make_incident(org, priority="low").sla_due_at == T0 + timedelta(hours=48)  # invalid → default


@pytest.mark.parametrize(
    ("elapsed_minutes", "expected"),
    [(0, "ok"), (44, "ok"), (45, "at_risk"), (59, "at_risk"), (60, "breached"), (90, "breached")],
)
def test_at_risk_at_75_percent(org, travel, elapsed_minutes, expected):
    travel(T0)
    incident = make_incident(org, priority="urgent")  # 60-minute window: at risk from minute 45
    assert incident.sla_status_at(T0 + timedelta(minutes=elapsed_minutes)) == expected


def test_sla_status_in_api_and_met_when_resolved_in_time(org, make_member, travel):
    client = key_client(make_member(org, Role.SCHEDULER))
    travel(T0)
    incident = make_incident(org, priority="high")
    travel(T0 + timedelta(hours=3, minutes=30))
    assert client.get(f"/v1/incidents/{incident.pk}").json()["sla_status"] == "at_risk"
    client.post(f"/v1/incidents/{incident.pk}/transition", {"status": "resolved"}, format="json")
    travel(T0 + timedelta(days=3))
    assert client.get(f"/v1/incidents/{incident.pk}").json()["sla_status"] == "met"


def test_priority_change_recomputes_from_created_at(org, make_member, travel):
    client = key_client(make_member(org, Role.MANAGER))
    travel(T0)
    incident = make_incident(org, priority="low")
    travel(T0 + timedelta(minutes=20))
    response = client.patch(f"/v1/incidents/{incident.pk}", {"priority": "urgent"}, format="json")
    assert response.status_code == 200
    assert response.json()["sla_due_at"] == "2026-06-01T13:00:00Z"
    entry = Activity.objects.get(incident=incident, verb="updated")
    assert (entry.field, entry.old, entry.new) == ("priority", "low", "urgent")


def test_dst_spring_forward_new_york(org, travel):
    """01:30 EST on 2026-03-08, half an hour before clocks jump to 03:00 EDT: a 4 h window
    ends 4 real hours later — 06:30 EDT on the wall, 10:30 UTC — not 05:30."""
    ny = zoneinfo.ZoneInfo("America/New_York")
    created = datetime(2026, 3, 8, 1, 30, tzinfo=ny)
    org.timezone = "America/New_York"
    org.save()
    travel(created)
    incident = make_incident(org, priority="high")
    incident.refresh_from_db()
    assert incident.sla_due_at == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert incident.sla_due_at.astimezone(ny).strftime("%H:%M %Z") == "06:30 EDT"
    assert (incident.sla_due_at - incident.created_at) == timedelta(hours=4)


def test_dst_fall_back_new_york(org, travel):
    ny = zoneinfo.ZoneInfo("America/New_York")
    created = datetime(2026, 11, 1, 0, 45, tzinfo=ny)  # EDT; at 02:00 clocks go back to 01:00
    travel(created)
    incident = make_incident(org, priority="urgent")
    incident.refresh_from_db()
    assert incident.sla_due_at == datetime(2026, 11, 1, 5, 45, tzinfo=UTC)
    assert incident.sla_due_at.astimezone(ny).strftime("%H:%M %Z") == "01:45 EDT"


def _setup_breach(org, make_member, travel):
    admin = make_member(org, Role.ADMIN)
    responder = make_member(org, Role.MEMBER)
    make_member(org, Role.SCHEDULER)  # neither admin nor assignee: not emailed
    travel(T0)
    late = make_incident(org, priority="urgent", title="Late one", assignees=[responder])
    on_time = make_incident(org, priority="low", title="Fine one")
    done = make_incident(org, priority="urgent", title="Resolved one")
    services.incident_transition(actor=None, incident=done, to=Status.RESOLVED)
    return admin, responder, late, on_time, done


def test_breach_scan_marks_once_records_publishes_and_emails(
    org, make_member, travel, django_capture_on_commit_callbacks
):
    admin, responder, late, on_time, done = _setup_breach(org, make_member, travel)
    travel(T0 + timedelta(minutes=59))
    assert services.sla_scan() == []
    travel(T0 + timedelta(minutes=61))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_scan() == [late.pk]
        assert services.sla_scan() == []  # exactly once
    late.refresh_from_db()
    assert late.sla_breached and late.sla_status == SlaStatus.BREACHED
    assert not Incident.objects.get(pk=on_time.pk).sla_breached
    assert not Incident.objects.get(pk=done.pk).sla_breached
    assert Activity.objects.filter(incident=late, verb="sla_breached").count() == 1
    events = Event.objects.filter(type="incident.updated", data__id=str(late.pk), data__changed=["sla_breached"])
    assert events.count() == 1
    recipients = sorted(to for message in mail.outbox for to in message.to)
    assert recipients == sorted([admin.user.email, responder.user.email])
    assert all("SLA breached: Late one" in message.subject for message in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_concurrent_scans_breach_once(org, make_member, travel):
    _setup_breach(org, make_member, travel)
    travel(T0 + timedelta(hours=2))
    results, barrier = [], threading.Barrier(4)

    def scan():
        barrier.wait()
        try:
            results.append(services.sla_scan())
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r) for r in results) == 1
    assert Activity.objects.filter(verb="sla_breached").count() == 1


def test_breach_task_runs_the_scan(org, travel):
    from apps.incidents.tasks import sla_scan

    travel(T0)
    make_incident(org, priority=Priority.URGENT)
    travel(T0 + timedelta(hours=1, seconds=1))
    assert sla_scan.delay().get() == 1


def test_member_cannot_change_priority(org, make_member):
    member = make_member(org, Role.MEMBER)
    incident = make_incident(org, assignees=[member])
    response = key_client(member).patch(f"/v1/incidents/{incident.pk}", {"priority": "urgent"}, format="json")
    assert response.status_code == 403
    services.incident_update(actor=actor_for(member), incident=incident, location_name="Gate 4")
    assert Incident.objects.get(pk=incident.pk).location_name == "Gate 4"
