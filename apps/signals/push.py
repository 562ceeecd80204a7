"""Outbound Web Push (VAPID, RFC 8291 aes128gcm) and ntfy requests — the HTTP boundary."""

from __future__ import annotations

import json
import logging

import httpx
from pywebpush import WebPushException, webpush

from apps.signals import conf

logger = logging.getLogger(__name__)


class PushGone(Exception):
    """The push service says the subscription no longer exists (404/410)."""


class PushFailed(Exception):
    """A temporary failure: the push service is down or refused for another reason."""


def vapid_configured() -> bool:
    return bool(conf.get("VAPID_PRIVATE_KEY") and conf.get("VAPID_PUBLIC_KEY"))


def send_web_push(subscription_info: dict, payload: dict) -> int:
    try:
        response = webpush(
            subscription_info=subscription_info,
            data=json.dumps(payload, separators=(",", ":")),
            vapid_private_key=conf.get("VAPID_PRIVATE_KEY"),
            vapid_claims={"sub": conf.get("VAPID_SUBJECT")},
            ttl=3600,
            timeout=conf.get("PUSH_TIMEOUT_SECONDS"),
            headers={"Urgency": "high"},
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            raise PushGone(str(status)) from exc
        raise PushFailed(f"push service answered {status}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - connection refused, timeout, TLS …
        raise PushFailed(str(exc)) from exc
    return response.status_code


def send_ntfy(topic: str, *, title: str, message: str, tags: str = "rotating_light") -> int:
    headers = {"Title": title.encode("utf-8").decode("latin-1", "replace"), "Priority": "urgent", "Tags": tags}
    token = conf.get("NTFY_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{str(conf.get('NTFY_URL')).rstrip('/')}/{topic}"
    response = httpx.post(url, content=message.encode(), headers=headers, timeout=conf.get("PUSH_TIMEOUT_SECONDS"))
    response.raise_for_status()
    return response.status_code
