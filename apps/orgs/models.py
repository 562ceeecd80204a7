import uuid
import zoneinfo
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

from schedkit.db import BaseModel


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _zones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).", code="invalid_timezone")


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    SCHEDULER = "scheduler"
    FRONTDESK = "frontdesk"
    MEMBER = "member"


class Org(BaseModel):
    slug = models.SlugField(max_length=63, unique=True, help_text="Immutable public handle")
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    settings = models.JSONField(default=dict, blank=True, help_text='e.g. {"auto_dispatch": false}')
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = "organization"

    def __str__(self):
        return self.slug


class OrgScopedQuerySet(models.QuerySet):
    """The one tenancy mechanism: every org-owned read in a request goes through for_actor().

    Subclasses narrow further per action (e.g. members see only their own API keys)."""

    def for_actor(self, actor, action: str = "view"):
        if actor is None or actor.org_id is None:
            return self.none()
        return self.filter(org_id=actor.org_id)

    def access(self, actor, pk, action: str = "view"):
        """The one "this id or 404": the row with id `pk` that the actor may `action`, else
        Http404 — the same answer whether it is malformed, missing or another org's."""
        try:
            pk = uuid.UUID(str(pk))
        except ValueError:
            raise Http404 from None
        found = self.for_actor(actor, action).filter(pk=pk).first()
        if found is None:
            raise Http404
        return found


class OrgOwnedModel(BaseModel):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="+")

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(OrgOwnedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    skills = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="uniq_membership_org_user")]
        indexes = [models.Index(fields=["user", "active"])]
        ordering = ["-id"]

    def __str__(self):
        return f"{self.user_id} in {self.org_id} as {self.role}"

    def clean(self):
        if not isinstance(self.skills, list) or not all(isinstance(s, str) and s for s in self.skills):
            raise ValidationError({"skills": "Skills are a list of non-empty strings."})


class Team(OrgOwnedModel):
    class Routing(models.TextChoices):
        ROUND_ROBIN = "round_robin"
        RANDOM = "random"

    slug = models.SlugField(max_length=63)
    name = models.CharField(max_length=200)
    routing_strategy = models.CharField(max_length=16, choices=Routing.choices, default=Routing.ROUND_ROBIN)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "slug"], name="uniq_team_org_slug")]
        ordering = ["-id"]

    def __str__(self):
        return self.slug


class TeamMember(OrgOwnedModel):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="team_members")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="team_memberships")
    active = models.BooleanField(default=True, help_text="In the rotation")
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text="For round-robin routing")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "membership"], name="uniq_team_member")]
        ordering = ["-id"]

    def clean(self):
        if self.team_id and self.membership_id and self.membership.org_id != self.team.org_id:
            raise ValidationError("Team and member belong to different organizations.")


class Invite(OrgOwnedModel):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"invite {self.email} → {self.org_id}"
