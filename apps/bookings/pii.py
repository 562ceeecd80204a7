"""Attendee PII at rest: Fernet ciphertext (MultiFernet, so keys rotate) plus a keyed hash
(blind index) for lookups. Keys: settings.PII_ENCRYPTION_KEYS (newest first; a list or a
comma-separated string of Fernet keys); without it a key is derived from SECRET_KEY."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _configured_keys() -> tuple[str, ...]:
    keys = getattr(settings, "PII_ENCRYPTION_KEYS", None) or ()
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    if not keys:
        derived = hashlib.sha256(f"pii:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return tuple(keys)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def encrypt(value: str) -> str:
    if not value:
        return ""
    return _fernet(_configured_keys()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(_configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (run after adding a key in front)."""
    return _fernet(_configured_keys()).rotate(token.encode()).decode() if token else ""


def blind_index(value: str, *, kind: str) -> str:
    if not value:
        return ""
    key = hashlib.sha256(f"pii-index:{settings.SECRET_KEY}".encode()).digest()
    normalized = value.strip().lower() if kind == "email" else "".join(c for c in value if c.isdigit() or c == "+")
    return hmac.new(key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def mask_email(value: str) -> str:
    if "@" not in value:
        return "***"
    local, domain = value.split("@", 1)
    return f"{local[:1]}***@{domain}"
