"""Server-rendered pages: the public status page/JSON, board, detail, war room and the htmx
writes (same services as the API), plus the admin."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.incidents.models import Activity, Incident, IntakeEndpoint
from apps.orgs.models import Role
from tests import tenancy
from tests.factories import OrgFactory
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db
PUBLIC_FIELDS = {
    "title",
    "status",
    "priority",
    "sla_status",
    "location_name",
    "created_at",
    "updated_at",
    "resolved_at",
}


def test_status_json_shows_public_fields_only(org):
    incident = make_incident(org, description="internal notes", location_name="Main St 1", lat=1.0, lng=2.0)
    response = Client().get(f"/v1/status/{incident.customer_token}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["title"] == incident.title and body["location_name"] == "Main St 1"
    text = response.content.decode()
    for secret in ("internal notes", str(incident.pk), incident.reply_token, "1.0"):
        assert secret not in text


def test_status_wrong_token_is_404(org):
    make_incident(org)
    response = Client().get("/v1/status/not-a-token")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert Client().get("/status/not-a-token").status_code == 404


def test_status_page_and_its_htmx_partial(org):
    incident = make_incident(org, description="internal notes", location_name="Main St 1")
    page = Client().get(f"/status/{incident.customer_token}")
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    html = page.content.decode()
    assert incident.title in html and "Main St 1" in html and "internal notes" not in html
    assert 'hx-trigger="every 5s"' in html and "/static/vendor/htmx/htmx.min.js" in html
    Incident.objects.filter(pk=incident.pk).update(status="in_progress")
    partial = Client().get(f"/status/{incident.customer_token}", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "In Progress" in partial.content.decode()


@pytest.fixture
def dispatcher(org, make_member):
    membership = make_member(org, Role.SCHEDULER)
    client = Client()
    client.force_login(membership.user)
    return membership, client


def test_board_page_rows_partial_and_filters(org, make_member, dispatcher):
    _, client = dispatcher
    urgent = make_incident(org, title="Fire alarm", priority="urgent")
    make_incident(org, title="Squeaky door", priority="low")
    page = client.get("/incidents/")
    html = page.content.decode()
    assert page.status_code == 200 and "Fire alarm" in html and "Squeaky door" in html
    assert f'id="incident-{urgent.pk}"' in html and "sla-ok" in html and 'data-org="' in html
    partial = client.get("/incidents/", {"priority": "urgent"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="incident-rows")
    text = partial.content.decode()
    assert "<html" not in text and "Fire alarm" in text and "Squeaky door" not in text
    assert client.get("/incidents/war-room/").status_code == 200


def test_board_htmx_transition_and_assign_use_the_services(org, make_member, dispatcher):
    scheduler, client = dispatcher
    responder = make_member(org, Role.MEMBER)
    incident = make_incident(org)
    response = client.post(
        f"/incidents/{incident.pk}/transition", {"status": "in_progress", "from": "board"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and f'id="incident-{incident.pk}"' in response.content.decode()
    response = client.post(
        f"/incidents/{incident.pk}/assign", {"assignee_ids": str(responder.pk), "from": "board"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == "in_progress" and list(incident.assignees.all()) == [responder]
    entry = Activity.objects.get(incident=incident, verb="transitioned")
    assert entry.actor == scheduler.user
    # An illegal move is shown in the fragment, not applied.
    response = client.post(f"/incidents/{incident.pk}/transition", {"status": "closed", "from": "board"})
    assert "cannot move" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "in_progress"


def test_detail_page_comment_and_member_limits(org, make_member, dispatcher):
    _, client = dispatcher
    incident = make_incident(org, lat=52.5, lng=13.4, location_name="Depot")
    page = client.get(f"/incidents/{incident.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "openstreetmap.org/?mlat=52.5" in html and "opened the incident" in html
    response = client.post(f"/incidents/{incident.pk}/comment", {"body": "Crew en route"}, HTTP_HX_REQUEST="true")
    assert "Crew en route" in response.content.decode()

    member = make_member(org, Role.MEMBER)
    member_client = Client()
    member_client.force_login(member.user)
    assert member_client.get(f"/incidents/{incident.pk}/").status_code == 200
    response = member_client.post(f"/incidents/{incident.pk}/transition", {"status": "resolved"})
    assert "assigned to them" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "open"


def test_pages_are_org_scoped_and_need_login(org, dispatcher):
    _, client = dispatcher
    foreign = make_incident(OrgFactory())
    assert client.get(f"/incidents/{foreign.pk}/").status_code == 404
    assert client.post(f"/incidents/{foreign.pk}/transition", {"status": "resolved"}).status_code == 404
    assert Incident.objects.get(pk=foreign.pk).status == "open"
    anonymous = Client().get("/incidents/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.parametrize("model", [Incident, Activity, IntakeEndpoint], ids=lambda m: m.__name__)
def test_admin_pages_render(model):
    staff = User.objects.create_superuser("staff@example.test")
    client = Client()
    client.force_login(staff)
    obj = tenancy.REGISTRY[model].factory(OrgFactory())
    opts = model._meta
    assert model in admin.site._registry
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "x"}).status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])).status_code == 200


def test_board_query_count_is_constant(org, make_member, dispatcher):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, client = dispatcher
    responders = [make_member(org, Role.MEMBER) for _ in range(2)]

    def count(n):
        for i in range(n):
            make_incident(org, title=f"b{i}", assignees=responders[: i % 2 + 1])
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/incidents/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="incident-rows")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    assert count(3) == count(30)
