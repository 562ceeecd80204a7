"""Attendee PII at rest: Fernet ciphertext (MultiFernet, so keys rotate) plus a keyed hash
(blind index) for lookups.

- Encryption keys: settings.PII_ENCRYPTION_KEYS (newest first; a list or a comma-separated
  string of Fernet keys); without it a key is derived from SECRET_KEY (embedded default only).
  Rotate by prepending a key, then `manage.py pii_reencrypt` rewrites every row under it.
- Blind-index key: settings.PII_INDEX_KEY, a secret of its own (not SECRET_KEY: rotating the
  session secret must not orphan every index, and one leaked secret must not give both). Empty
  keeps the historical key derived from SECRET_KEY, so existing indexes stay valid.
- A ciphertext that no configured key opens raises PIIDecryptError and is logged (never shown
  as an empty value: an empty email would silently drop the attendee's mails)."""

import base64
import hashlib
import hmac
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

logger = logging.getLogger(__name__)


class PIIDecryptError(Exception):
    """No configured PII key decrypts this value (a key was removed too early, or the data is
    corrupt)."""


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


def _fail(action: str, token: str) -> PIIDecryptError:
    # never the ciphertext itself in the log: only its length and a short fingerprint
    fingerprint = hashlib.sha256(token.encode()).hexdigest()[:12]
    logger.error("PII %s failed: no configured key opens value %s (%d chars)", action, fingerprint, len(token))
    return PIIDecryptError(f"No PII_ENCRYPTION_KEYS key decrypts value {fingerprint}.")


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(_configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise _fail("decrypt", token) from None


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (run after adding a key in front)."""
    if not token:
        return ""
    try:
        return _fernet(_configured_keys()).rotate(token.encode()).decode()
    except InvalidToken:
        raise _fail("rotate", token) from None


def _index_key() -> bytes:
    configured = getattr(settings, "PII_INDEX_KEY", "")
    if configured:
        return hashlib.sha256(f"pii-index:{configured}".encode()).digest()
    return hashlib.sha256(f"pii-index:{settings.SECRET_KEY}".encode()).digest()  # the historical key


def blind_index(value: str, *, kind: str) -> str:
    if not value:
        return ""
    normalized = value.strip().lower() if kind == "email" else "".join(c for c in value if c.isdigit() or c == "+")
    return hmac.new(_index_key(), f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def mask_email(value: str) -> str:
    if "@" not in value:
        return "***"
    local, domain = value.split("@", 1)
    return f"{local[:1]}***@{domain}"
