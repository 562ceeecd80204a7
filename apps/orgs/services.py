"""Org, membership, team and invite writes."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.events.enqueue import enqueue_on_commit
from apps.events.publish import publish_on_commit
from apps.orgs.hooks import access_changed
from apps.orgs.models import Invite, Membership, Org, Role, Team, TeamMember
from apps.orgs.tasks import send_invite_email
from schedkit.api.problems import Problem
from schedkit.tokens import token_hash

INVITE_TTL = timedelta(days=7)


def _member_data(membership: Membership) -> dict:
    return {"id": membership.pk, "user_id": membership.user_id, "role": membership.role, "active": membership.active}


def org_create(*, user, slug: str, name: str, timezone_name: str = "UTC") -> Org:
    """A new org with its creator as owner."""
    if Org.objects.filter(slug=slug).exists():
        raise Problem(409, "ORG_SLUG_TAKEN", "Slug taken", f"The org slug {slug!r} is already in use.")
    with transaction.atomic():
        org = Org(slug=slug, name=name, timezone=timezone_name)
        org.full_clean()
        org.save()
        membership = Membership(org=org, user=user, role=Role.OWNER)
        membership.full_clean()
        membership.save()
        publish_on_commit(org=org, type="member.joined", data=_member_data(membership))
    return org


def org_update(*, actor, org: Org, **changes) -> Org:
    for field in ("name", "timezone", "settings"):
        if field in changes:
            setattr(org, field, changes[field])
    with transaction.atomic():
        org.full_clean()
        org.save()
        publish_on_commit(org=org, type="org.updated", data={"name": org.name, "timezone": org.timezone})
        _forget_org_keys(org.pk)
    return org


def _forget_member_keys(membership: Membership) -> None:
    """API keys carry their user's role; a role change or removal must apply at once."""
    org_id, user_id = membership.org_id, membership.user_id
    transaction.on_commit(lambda: access_changed(org_id=org_id, user_id=user_id))


def _forget_org_keys(org_id) -> None:
    transaction.on_commit(lambda: access_changed(org_id=org_id))


# Role rank for "downgrade": a move to a lower or sideways role ends the open streams.
ROLE_RANK = {
    Role.OWNER: 5,
    Role.ADMIN: 4,
    Role.MANAGER: 3,
    Role.SCHEDULER: 2,
    Role.FRONTDESK: 2,
    Role.MEMBER: 1,
}


def _publish_access_revoked(*, org: Org, membership_id, user_id, reason: str) -> None:
    """Open websockets and SSE streams of this membership (session or API key) close on it."""
    publish_on_commit(
        org=org,
        type="access.revoked",
        data={"reason": reason, "membership_id": membership_id, "user_id": user_id, "api_key_id": None},
    )


def _other_active_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(org_id=membership.org_id, role=Role.OWNER, active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def membership_update(*, actor, membership: Membership, **changes) -> Membership:
    touches_owner = membership.role == Role.OWNER or changes.get("role") == Role.OWNER
    if touches_owner and actor.role != Role.OWNER:
        raise Problem(403, "OWNER_REQUIRED", "Owner required", "Only an owner may grant or change the owner role.")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        demoting = locked.role == Role.OWNER and (
            changes.get("role", Role.OWNER) != Role.OWNER or changes.get("active") is False
        )
        if demoting and not _other_active_owners(locked):
            raise Problem(409, "LAST_OWNER", "Last owner", "An org keeps at least one active owner.")
        before_role, before_active = locked.role, locked.active
        for field in ("role", "active", "skills"):
            if field in changes:
                setattr(locked, field, changes[field])
        locked.full_clean()
        locked.save()
        publish_on_commit(org=locked.org, type="member.updated", data=_member_data(locked))
        if before_active and not locked.active:
            _publish_access_revoked(
                org=locked.org, membership_id=locked.pk, user_id=locked.user_id, reason="membership_deactivated"
            )
        elif locked.role != before_role and ROLE_RANK[locked.role] <= ROLE_RANK[before_role]:
            _publish_access_revoked(
                org=locked.org, membership_id=locked.pk, user_id=locked.user_id, reason="role_downgraded"
            )
        _forget_member_keys(locked)
    return locked


def membership_remove(*, actor, membership: Membership) -> None:
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise Problem(403, "OWNER_REQUIRED", "Owner required", "Only an owner may remove an owner.")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("org").get(pk=membership.pk)
        if locked.role == Role.OWNER and not _other_active_owners(locked):
            raise Problem(409, "LAST_OWNER", "Last owner", "An org keeps at least one active owner.")
        data = _member_data(locked)
        membership_id = locked.pk
        locked.delete()
        publish_on_commit(org=locked.org, type="member.removed", data=data)
        _publish_access_revoked(
            org=locked.org, membership_id=membership_id, user_id=locked.user_id, reason="membership_removed"
        )
        _forget_member_keys(locked)


def team_create(*, actor, slug: str, name: str, routing_strategy: str = Team.Routing.ROUND_ROBIN) -> Team:
    if Team.objects.filter(org=actor.org, slug=slug).exists():
        raise Problem(409, "TEAM_SLUG_TAKEN", "Slug taken", f"This org already has a team {slug!r}.")
    with transaction.atomic():
        team = Team(org=actor.org, slug=slug, name=name, routing_strategy=routing_strategy)
        team.full_clean()
        team.save()
        publish_on_commit(
            org=actor.org,
            type="team.created",
            data={"id": team.pk, "slug": team.slug, "routing_strategy": team.routing_strategy},
        )
    return team


def team_update(*, actor, team: Team, **changes) -> Team:
    for field in ("name", "routing_strategy"):
        if field in changes:
            setattr(team, field, changes[field])
    with transaction.atomic():
        team.full_clean()
        team.save()
        publish_on_commit(
            org=actor.org,
            type="team.updated",
            data={"id": team.pk, "slug": team.slug, "routing_strategy": team.routing_strategy},
        )
    return team


def team_delete(*, actor, team: Team) -> None:
    with transaction.atomic():
        data = {"id": team.pk, "slug": team.slug}
        team.delete()
        publish_on_commit(org=actor.org, type="team.deleted", data=data)


def team_member_add(*, actor, team: Team, membership: Membership, active: bool = True) -> TeamMember:
    if TeamMember.objects.filter(team=team, membership=membership).exists():
        raise Problem(409, "ALREADY_TEAM_MEMBER", "Already a member", "This person is already on the team.")
    with transaction.atomic():
        team_member = TeamMember(org=team.org, team=team, membership=membership, active=active)
        team_member.full_clean()
        team_member.save()
        publish_on_commit(
            org=actor.org,
            type="team.member_added",
            data={"team": team.slug, "membership_id": membership.pk, "active": active},
        )
    return team_member


def team_member_update(*, actor, team_member: TeamMember, active: bool) -> TeamMember:
    with transaction.atomic():
        team_member.active = active
        team_member.save(update_fields=["active", "updated_at"])
        publish_on_commit(
            org=actor.org,
            type="team.member_updated",
            data={"team": team_member.team.slug, "membership_id": team_member.membership_id, "active": active},
        )
    return team_member


def team_member_remove(*, actor, team_member: TeamMember) -> None:
    with transaction.atomic():
        data = {"team": team_member.team.slug, "membership_id": team_member.membership_id}
        team_member.delete()
        publish_on_commit(org=actor.org, type="team.member_removed", data=data)


def invite_create(*, actor, email: str, role: str = Role.MEMBER) -> Invite:
    email = get_user_model().normalize_email(email)
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise Problem(403, "OWNER_REQUIRED", "Owner required", "Only an owner may invite an owner.")
    if Membership.objects.filter(org=actor.org, user__email=email).exists():
        raise Problem(409, "ALREADY_MEMBER", "Already a member", "This person is already in the organization.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invite = Invite(
            org=actor.org,
            email=email,
            role=role,
            token_hash=token_hash(token),
            invited_by=actor.user,
            expires_at=timezone.now() + INVITE_TTL,
        )
        invite.full_clean()
        invite.save()
        url = f"{settings.PUBLIC_BASE_URL}/invites/{token}/"
        org_name = actor.org.name
        # Rowless: the link is a secret no row keeps, so a broker outage sends it inline.
        enqueue_on_commit(send_invite_email, email, org_name, role, url, inline_on_failure=True)
    return invite


def invite_revoke(*, actor, invite: Invite) -> Invite:
    invite.revoked_at = invite.revoked_at or timezone.now()
    invite.save(update_fields=["revoked_at", "updated_at"])
    return invite


def invite_accept(*, token: str, user=None):
    """Accept by link: the link was emailed, so opening it proves the address (as a magic
    link does). Returns (user, membership); the user is created if new."""
    User = get_user_model()  # noqa: N806 - the user model, without importing accounts (a higher app)
    now = timezone.now()
    with transaction.atomic():
        invite = (
            Invite.objects.select_for_update().select_related("org").filter(token_hash=token_hash(token or "")).first()
        )
        if invite is None or invite.revoked_at or invite.accepted_at:
            raise Problem(400, "INVITE_INVALID", "Invite not valid", "This invite is not valid or was already used.")
        if invite.expires_at <= now:
            raise Problem(400, "INVITE_EXPIRED", "Invite expired", "Ask for a new invite.")
        if user is not None and user.is_authenticated and user.email != invite.email:
            raise Problem(
                403,
                "INVITE_EMAIL_MISMATCH",
                "Wrong account",
                "This invite was sent to another address; sign out and open the link again.",
            )
        user = User.objects.filter(email=invite.email).first() or User.objects.create_user(invite.email)
        membership, created = Membership.objects.get_or_create(
            org=invite.org, user=user, defaults={"role": invite.role}
        )
        invite.accepted_at = now
        invite.save(update_fields=["accepted_at", "updated_at"])
        if created:
            publish_on_commit(org=invite.org, type="member.joined", data=_member_data(membership))
    return user, membership
