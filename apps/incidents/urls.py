"""Server-rendered incident pages and the inbound email webhook; include at the site root."""

from anymail.webhooks.mailjet import MailjetInboundWebhookView
from django.urls import path

from apps.incidents import views

app_name = "incidents"

urlpatterns = [
    path("incidents/", views.board, name="board"),
    path("incidents/new", views.create, name="create"),
    path("incidents/war-room/", views.war_room, name="war-room"),
    path("incidents/<uuid:incident_id>/", views.detail, name="detail"),
    path("incidents/<uuid:incident_id>/transition", views.transition, name="transition"),
    path("incidents/<uuid:incident_id>/assign", views.assign, name="assign"),
    path("incidents/<uuid:incident_id>/comment", views.comment, name="comment"),
    path("status/<str:token>", views.public_status, name="status"),
    # Mailjet's parse API posts here (basic auth: ANYMAIL["WEBHOOK_SECRET"]).
    path("intake/email/mailjet/", MailjetInboundWebhookView.as_view(), name="email-mailjet"),
]
