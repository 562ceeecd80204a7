"""An offer reaches the responder: web push (real encrypted requests to a local fake push
service, through apps.signals' push task), ntfy (a local fake) and email with signed
ack/decline links that work without a login and cannot be forged."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.dispatch import links, services
from apps.dispatch.models import Assignment
from apps.incidents import clock
from apps.orgs.models import Org
from tests.dispatch.factories import make_policy, make_responder
from tests.incidents.factories import make_incident
from tests.signals.fakes import fake_http_service
from tests.signals.test_alerts import subscribe, vapid  # noqa: F401 - the vapid fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_offer_is_pushed_to_the_responder_and_emailed_with_links(org, settings, vapid):  # noqa: F811
    responder = make_responder(org)
    bystander = make_responder(org, on_duty=None)
    Org.objects.filter(pk=org.pk).update(settings={"ntfy_topic": "dispatch-test"})
    with fake_http_service(status=201) as push_service, fake_http_service(status=200) as ntfy:
        settings.NTFY_URL = ntfy.base_url
        browser = subscribe(responder.membership, f"{push_service.base_url}/push/responder")
        subscribe(bystander.membership, f"{push_service.base_url}/push/bystander")
        incident = make_incident(Org.objects.get(pk=org.pk), title="Boiler leak", location_name="Hall 3")
        run, _ = services.dispatch_start(actor=None, incident=incident)
    assignment = run.assignments.get()
    assert [r.path for r in push_service.requests] == ["/push/responder"]
    payload = browser.decrypt(push_service.requests[0].body)
    assert payload["type"] == "dispatch.offered" and payload["id"] == str(assignment.pk)
    assert "Boiler leak" in payload["title"] and "/v1/assignment-links/" in payload["ack_url"]
    assert [r.path for r in ntfy.requests] == ["/dispatch-test"]
    [email] = [m for m in mail.outbox if responder.membership.user.email in m.to]
    assert "Boiler leak" in email.subject and "Hall 3" in email.body
    ack_url = re.search(r"Acknowledge: (\S+)", email.body).group(1)
    # the emailed link acknowledges without a login
    response = APIClient().post(urlsplit(ack_url).path, {}, format="json")
    assert response.status_code == 200, response.content
    assert Assignment.objects.get(pk=assignment.pk).state == "acknowledged"


def link_path(assignment, action):
    return f"/v1/assignment-links/{links.link_token(assignment)}/{action}"


def test_signed_links_decline_and_refuse_forgeries(org):
    make_responder(org)
    make_responder(org)
    make_policy(org, steps=[{"type": "offer"}, {"type": "offer"}])
    run, _ = services.dispatch_start(actor=None, incident=make_incident(org))
    first = run.assignments.get()
    client = APIClient()
    token = links.link_token(first)
    forged = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert client.post(f"/v1/assignment-links/{forged}/ack", {}, format="json").status_code == 404
    assert client.post(f"/v1/assignment-links/{token}/explode", {}, format="json").status_code == 404
    response = client.post(link_path(first, "decline"), {"reason": "off sick"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "declined"
    second = run.assignments.get(state="offered")
    assert second.person_id != first.person_id


def test_link_after_the_deadline_is_409(org, monkeypatch):
    make_responder(org)
    run, _ = services.dispatch_start(actor=None, incident=make_incident(org))
    assignment = run.assignments.get()
    later = clock.now() + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = APIClient().post(link_path(assignment, "ack"), {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "ASSIGNMENT_EXPIRED"
