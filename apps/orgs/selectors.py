"""Reads that cross a tenant line. Each resolves outside input to an object of the actor's
org or answers 404 — the same 404 whether the object is missing or someone else's."""

from django.http import Http404

from apps.orgs.models import Membership, Org, Team


def org_list_for_user(*, user, api_key=None):
    if api_key is not None:
        return Org.objects.filter(pk=api_key.org_id)
    member_of = Membership.objects.filter(user=user, active=True).values("org_id")
    return Org.objects.filter(pk__in=member_of, is_active=True)


def access_team(actor, slug: str) -> Team:
    team = Team.objects.for_actor(actor).filter(slug=slug).select_related("org").first()
    if team is None:
        raise Http404
    return team


def access_membership(actor, membership_id) -> Membership:
    return Membership.objects.access(actor, membership_id)
