"""Who is asking, and for which org: resolved once per request, used by every query.

The org of a request is the API key's own org; for a session, the org in the URL, else the
`X-Org` header (slug), else `?org=`, else the user's only org. Anything else is 400; an org
the caller does not belong to is indistinguishable from one that does not exist (404)."""

from dataclasses import dataclass
from typing import Any

from apps.orgs.models import Membership, Org
from schedkit.api.problems import Problem


@dataclass(frozen=True)
class Actor:
    user: Any
    org: Org | None = None
    role: str | None = None
    membership_id: Any = None
    api_key: Any = None

    @property
    def org_id(self):
        return self.org.pk if self.org is not None else None

    @property
    def ref(self) -> str:
        return f"apikey:{self.api_key.pk}" if self.api_key is not None else f"user:{self.user.pk}"

    def has_role(self, roles) -> bool:
        return self.role in roles


def org_not_found(slug: str | None = None) -> Problem:
    detail = f"No organization {slug!r} for this caller." if slug else "No such organization for this caller."
    return Problem(404, "ORG_NOT_FOUND", "Organization not found", detail)


def requested_org_slug(request, url_slug: str | None = None) -> str | None:
    if url_slug:
        return url_slug
    return request.headers.get("X-Org") or request.GET.get("org") or None


def actor_for(*, user, api_key=None, slug: str | None = None, require_org: bool = True) -> Actor:
    """The one resolution of "who is this and which org", for the REST API, the SSE stream and
    the websocket: an API key acts in its own org (another slug is 404); a session in the org
    named by `slug`, else its only org. Raises a Problem (401, 400 or 404)."""
    if not getattr(user, "is_authenticated", False):
        raise Problem(401, "NOT_AUTHENTICATED", "Authentication required", "Sign in or send an API key.")
    if getattr(api_key, "is_api_key", False):
        if slug and slug != api_key.org.slug:
            raise org_not_found(slug)
        return Actor(
            user=user, org=api_key.org, role=api_key.role, membership_id=api_key.membership_id, api_key=api_key
        )
    memberships = Membership.objects.filter(user=user, active=True, org__is_active=True).select_related("org")
    if slug:
        membership = memberships.filter(org__slug=slug).first()
        if membership is None:
            raise org_not_found(slug)
    else:
        found = list(memberships[:2])
        if len(found) == 1:
            membership = found[0]
        elif not require_org:
            return Actor(user=user)
        elif not found:
            raise Problem(
                400,
                "ORG_REQUIRED",
                "No organization",
                "You belong to no organization; create one with POST /v1/orgs or accept an invite.",
            )
        else:
            raise Problem(
                400,
                "ORG_AMBIGUOUS",
                "Organization is ambiguous",
                "You belong to several organizations; choose one with the X-Org header or ?org=<slug>.",
            )
    return Actor(user=user, org=membership.org, role=membership.role, membership_id=membership.pk)


def resolve_actor(request, *, url_slug: str | None = None, require_org: bool = True) -> Actor:
    return actor_for(
        user=request.user,
        api_key=getattr(request, "auth", None),
        slug=requested_org_slug(request, url_slug),
        require_org=require_org,
    )
