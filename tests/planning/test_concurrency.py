"""Two editors, two web processes, the same rev: exactly one write wins, the other gets 412
with the winner's version — never a lost update."""

import threading

import httpx
import pytest

from apps.orgs.models import Role
from apps.planning.models import DailySchedule
from tests.conftest import key_client
from tests.factories import MembershipFactory
from tests.planning.conftest import item
from tests.planning.factories import at
from tests.servers import asgi_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_editors_on_two_servers(plan):
    jobs = [plan.incident(title=f"Job {i}") for i in range(2)]
    schedule = DailySchedule.objects.create(org=plan.org, date=plan.day)
    keys = [key_client(MembershipFactory(org=plan.org, role=Role.SCHEDULER)).raw_key for _ in range(2)]
    proposals = [
        [item(plan.gas, jobs[0], at(plan.day, 9), at(plan.day, 10))],
        [item(plan.electric, jobs[1], at(plan.day, 11), at(plan.day, 12))],
    ]
    with asgi_server() as one, asgi_server() as two:
        editors = [
            httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
            for server, key in zip((one, two), keys, strict=True)
        ]
        url = f"/v1/daily-schedules/{schedule.pk}"
        for _round in range(4):
            etags = [editor.get(url).headers["ETag"] for editor in editors]
            assert etags[0] == etags[1]
            barrier = threading.Barrier(2)
            results = [None, None]

            def edit(index, etag=etags[0], barrier=barrier, results=results):
                barrier.wait()
                results[index] = editors[index].put(
                    f"{url}/assignments", json={"assignments": proposals[index]}, headers={"If-Match": etag}
                )

            threads = [threading.Thread(target=edit, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            statuses = sorted(r.status_code for r in results)
            assert statuses == [200, 412], [r.text for r in results]
            winner = next(i for i, r in enumerate(results) if r.status_code == 200)
            loser = results[1 - winner].json()
            assert loser["code"] == "PRECONDITION_FAILED"
            assert loser["current"]["rev"] == int(etags[0].strip('"')) + 1
            assert loser["current"]["assignments"][0]["person_id"] == proposals[winner][0]["person_id"]
            schedule.refresh_from_db()
            assert [str(a.person_id) for a in schedule.assignments.all()] == [proposals[winner][0]["person_id"]]
        for editor in editors:
            editor.close()
