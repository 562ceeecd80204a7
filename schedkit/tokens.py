"""The one way SchedKit makes and stores bearer tokens (manage links, feeds, invites, status
pages, API keys, magic links): a URL-safe random secret shown once, stored as its SHA-256."""

import hashlib
import secrets


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token(nbytes: int = 24, prefix: str = "") -> tuple[str, str]:
    """(raw, hash): hand out `raw` once, store `hash`."""
    raw = prefix + secrets.token_urlsafe(nbytes)
    return raw, token_hash(raw)
