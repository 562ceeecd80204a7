"""Every (from, to) status pair through the API: legal moves succeed, illegal ones are 409
ILLEGAL_TRANSITION with the allowed moves in the body."""

import itertools

import pytest

from apps.incidents.models import TRANSITIONS, Activity, Incident, Status
from apps.orgs.models import Role
from tests.conftest import key_client
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db

LEGAL = {
    ("open", "in_progress"),
    ("open", "resolved"),
    ("in_progress", "open"),
    ("in_progress", "resolved"),
    ("resolved", "closed"),
    ("resolved", "open"),
    ("resolved", "in_progress"),
}
PAIRS = list(itertools.product(Status.values, Status.values))


def test_machine_is_what_the_spec_says():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize(("start", "to"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_pair(org, make_member, start, to):
    client = key_client(make_member(org, Role.SCHEDULER))
    incident = make_incident(org)
    Incident.objects.filter(pk=incident.pk).update(status=start)
    response = client.post(f"/v1/incidents/{incident.pk}/transition", {"status": to}, format="json")
    if (start, to) in LEGAL:
        assert response.status_code == 200, response.content
        assert response.json()["status"] == to
        assert response.json()["allowed_transitions"] == list(TRANSITIONS[to])
        entry = Activity.objects.filter(incident=incident, verb="transitioned").get()
        assert (entry.field, entry.old, entry.new) == ("status", start, to)
        assert (Incident.objects.get(pk=incident.pk).resolved_at is not None) == (to in ("resolved", "closed"))
    else:
        assert response.status_code == 409, response.content
        body = response.json()
        assert response["Content-Type"] == "application/problem+json"
        assert body["code"] == "ILLEGAL_TRANSITION"
        assert body["current"] == start
        assert body["allowed"] == list(TRANSITIONS[start])
        assert Incident.objects.get(pk=incident.pk).status == start


def test_unknown_status_is_a_validation_error(org, make_member):
    client = key_client(make_member(org, Role.SCHEDULER))
    incident = make_incident(org)
    response = client.post(f"/v1/tickets/{incident.pk}/transition", {"status": "done"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"
