"""Signed ack/decline links for a responder's push, ntfy and email notifications.

A link carries the assignment and the responder's membership, signed with SECRET_KEY
(django.core.signing, salted); nothing is stored, so there is no token to hash. A link is
valid for LINK_MAX_AGE; the assignment's own state decides whether the action still applies
(an expired offer answers 409 ASSIGNMENT_EXPIRED whatever the link says)."""

from django.conf import settings
from django.core import signing

SALT = "dispatch.assignment-link"
LINK_MAX_AGE = 24 * 3600


def link_token(assignment) -> str:
    return signing.dumps({"a": str(assignment.pk), "m": str(assignment.membership_id)}, salt=SALT, compress=True)


def read_link_token(token: str) -> dict | None:
    """{"a": assignment id, "m": membership id}, or None for a forged, altered or old link."""
    try:
        value = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, dict) and {"a", "m"} <= set(value) else None


def responder_page_url(assignment) -> str:
    return f"{settings.PUBLIC_BASE_URL}/dispatch/r/{link_token(assignment)}/"


def action_url(assignment, action: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/v1/assignment-links/{link_token(assignment)}/{action}"
