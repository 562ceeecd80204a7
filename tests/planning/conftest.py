from dataclasses import dataclass

import pytest

from apps.orgs.models import Role
from tests.conftest import key_client
from tests.factories import MembershipFactory, OrgFactory
from tests.planning.factories import make_incident, make_site, make_worker, tomorrow


@dataclass
class Plan:
    org: object
    day: object
    site: object
    gas: object  # a person with skill gas, 08–17
    electric: object  # a person with skill electric, 08–17
    scheduler: object  # API client
    frontdesk: object
    member: object

    def incident(self, **kwargs):
        return make_incident(self.org, **kwargs)


@pytest.fixture
def plan(db):
    org = OrgFactory(timezone="Europe/Berlin")
    site = make_site(org)
    return Plan(
        org=org,
        day=tomorrow(org),
        site=site,
        gas=make_worker(org, site, skills=["gas"]),
        electric=make_worker(org, site, skills=["electric"], home=(52.50, 13.30)),
        scheduler=key_client(MembershipFactory(org=org, role=Role.SCHEDULER)),
        frontdesk=key_client(MembershipFactory(org=org, role=Role.FRONTDESK)),
        member=key_client(MembershipFactory(org=org, role=Role.MEMBER)),
    )


def create_schedule(client, day) -> dict:
    response = client.post("/v1/daily-schedules", {"date": day.isoformat()}, format="json")
    assert response.status_code in (200, 201), response.content
    return response


def put_assignments(client, schedule_id, rev, items):
    headers = {} if rev is None else {"HTTP_IF_MATCH": f'"{rev}"'}
    return client.put(
        f"/v1/daily-schedules/{schedule_id}/assignments", {"assignments": items}, format="json", **headers
    )


def item(person, incident, start, end, **extra) -> dict:
    return {
        "person_id": str(person.pk),
        "work_item": {"type": "incident", "id": str(incident.pk)},
        "start": start.isoformat(),
        "end": end.isoformat(),
        **extra,
    }
