import re

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone
from django.utils.text import slugify

from apps.orgs.models import OrgOwnedModel, OrgScopedQuerySet
from apps.orgs.roles import ADMINS
from schedkit.db import BaseModel
from schedkit.ids import uuid7


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    def _unique_username(self, email: str) -> str:
        base = slugify(re.split(r"[@+]", email)[0])[:40] or "user"
        candidate, n = base, 1
        while self.model.objects.filter(username=candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    def create_user(self, email, username=None, password=None, **extra):
        email = normalize_email(email)
        user = self.model(email=email, username=username or self._unique_username(email), **extra)
        user.set_unusable_password()  # people sign in by magic link / code only
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email, username=None, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, username=username, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    email = models.EmailField(unique=True, help_text="The login; stored lower-case")
    username = models.SlugField(max_length=50, unique=True, help_text="Public booking handle: /book/<username>/…")
    name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin")
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    @classmethod
    def normalize_email(cls, email: str) -> str:
        """The stored form of an address (apps below accounts reach it via get_user_model())."""
        return normalize_email(email)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="uniq_user_email_ci")]
        ordering = ["email"]

    def __str__(self):
        return self.email


class LoginCode(BaseModel):
    """One sign-in challenge: a 6-digit code and a magic link, both stored hashed."""

    email = models.EmailField(db_index=True)
    code_hash = models.CharField(max_length=64)
    link_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    superseded = models.BooleanField(default=False, help_text="A newer code was requested")
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    next_url = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"login code for {self.email}"


class ApiKeyQuerySet(OrgScopedQuerySet):
    def for_actor(self, actor, action="view"):
        queryset = super().for_actor(actor, action)
        if actor is not None and actor.role not in ADMINS:
            queryset = queryset.filter(user=actor.user)  # members see and revoke their own keys only
        return queryset


class ApiKey(OrgOwnedModel):
    """An agent's credential for one user in one org. Only sha256(key) is stored."""

    PREFIX = "sk_live_"
    is_api_key = True  # lets tenancy tell a key from other request.auth values

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a key")
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
