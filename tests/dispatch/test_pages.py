"""Dispatch pages through Django's test client: the dispatcher's panel (candidates with
reasons, dispatch, pick), the war room, the responder page behind the signed link, and
org isolation of the panel."""

import pytest
from django.test import Client

from apps.dispatch import links, services
from apps.dispatch.models import Assignment
from apps.orgs.models import Role
from tests.dispatch.factories import BASE, make_responder
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db


def signed_in(membership):
    client = Client()
    client.force_login(membership.user)
    return client


def test_panel_lists_candidates_and_dispatches_a_pick(org, make_member):
    dispatcher = signed_in(make_member(org, Role.SCHEDULER))
    near = make_responder(org, name="Near Nora")
    far = make_responder(org, at=(BASE[0] + 0.1, BASE[1]), name="Far Fred")
    make_responder(org, skills=[], on_duty=None, name="Off Otto")
    incident = make_incident(org, lat=BASE[0], lng=BASE[1])
    url = f"/dispatch/incidents/{incident.pk}/?org={org.slug}"
    page = dispatcher.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "Near Nora" in html and "off_duty" in html and "Not dispatched yet" in html
    partial = dispatcher.post(url, {"person_id": str(far.pk)}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert Assignment.objects.get().person_id == far.pk  # the hand pick goes first
    assert "Re-dispatch" in partial.content.decode() and "countdown" in partial.content.decode()
    dispatcher.post(url, {}, HTTP_HX_REQUEST="true")
    assert Assignment.objects.get(state="offered").person_id == near.pk
    room = dispatcher.get(f"/dispatch/war-room/?org={org.slug}")
    assert room.status_code == 200 and incident.title in room.content.decode()


def test_members_read_the_panel_but_cannot_dispatch(org, make_member):
    member = signed_in(make_member(org, Role.MEMBER))
    make_responder(org)
    incident = make_incident(org)
    url = f"/dispatch/incidents/{incident.pk}/?org={org.slug}"
    assert member.get(url).status_code == 200
    assert member.post(url, {}).status_code == 403
    assert not Assignment.objects.exists()


def test_other_orgs_panel_is_404(org, make_org, make_member):
    incident = make_incident(org)
    other = make_org()
    outsider = signed_in(make_member(other, Role.OWNER))
    assert outsider.get(f"/dispatch/incidents/{incident.pk}/?org={other.slug}").status_code == 404


def test_responder_page_acknowledges_and_reports_status(org):
    make_responder(org)
    incident = make_incident(org, lat=BASE[0], lng=BASE[1], title="Gas smell")
    run, _ = services.dispatch_start(actor=None, incident=incident)
    assignment = run.assignments.get()
    client = Client()
    url = f"/dispatch/r/{links.link_token(assignment)}/"
    page = client.get(url).content.decode()
    assert "You are dispatched" in page and "Gas smell" in page and f"geo:{BASE[0]}" in page
    body = client.post(url, {"action": "ack"}, HTTP_HX_REQUEST="true").content.decode()
    assert "acknowledged" in body and "En route" in body
    client.post(url, {"action": "en_route"})
    assert Assignment.objects.get(pk=assignment.pk).state == "en_route"
    assert client.get("/dispatch/r/not-a-token/").status_code == 404
