"""Parsing outside payloads into intake calls: Prometheus Alertmanager webhooks and inbound
email (django-anymail's inbound signal, e.g. from the Mailjet parse API webhook)."""

import hashlib
import json
from dataclasses import dataclass

from rest_framework.exceptions import ValidationError

from apps.incidents.models import Priority
from apps.incidents.services import incident_from_email

SEVERITY_PRIORITY = {
    "critical": Priority.URGENT,
    "page": Priority.URGENT,
    "high": Priority.HIGH,
    "error": Priority.HIGH,
    "warning": Priority.NORMAL,
    "info": Priority.LOW,
    "low": Priority.LOW,
}


@dataclass
class Alert:
    firing: bool
    fingerprint: str
    title: str
    description: str
    priority: str


def parse_alertmanager(payload: dict, *, default_priority: str = Priority.NORMAL) -> list[Alert]:
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts or len(alerts) > 500:
        raise ValidationError({"alerts": ["A non-empty list of at most 500 alerts."]})
    parsed = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise ValidationError({f"alerts.{index}": ["An object."]})
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        state = alert.get("status", payload.get("status"))
        if state not in ("firing", "resolved"):
            raise ValidationError({f"alerts.{index}.status": ["Either 'firing' or 'resolved'."]})
        fingerprint = str(alert.get("fingerprint") or "")[:200]
        if not fingerprint:  # Alertmanager always sends one; derive it from the labels otherwise
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        name = str(labels.get("alertname") or "alert")
        summary = str(annotations.get("summary") or "")
        title = f"{name}: {summary}" if summary else name
        instance = labels.get("instance")
        if instance and not summary:
            title = f"{name} on {instance}"
        severity = str(labels.get("severity") or "").lower()
        parsed.append(
            Alert(
                firing=state == "firing",
                fingerprint=fingerprint,
                title=title[:300],
                description=str(annotations.get("description") or "")[:20_000],
                priority=SEVERITY_PRIORITY.get(severity, default_priority),
            )
        )
    return parsed


def handle_inbound_email(sender, event, esp_name, **kwargs):
    """anymail.signals.inbound receiver: thin, hands the message to the intake service."""
    message = event.message
    recipient = message.envelope_recipient or (message.to[0].addr_spec if message.to else "")
    from_address = message.from_email.addr_spec if message.from_email else (message.envelope_sender or "")
    incident_from_email(
        recipient=recipient or "",
        sender=from_address or "",
        subject=message.subject or "",
        text=message.text or "",
    )
