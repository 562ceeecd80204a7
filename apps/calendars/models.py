"""Google Calendar connections: whose account, which calendars, the cached busy time and the
events SchedKit wrote (so a retried write finds the event it already made)."""

from django.db import models
from django.db.models import Q

from apps.bookings.pii import decrypt, encrypt
from apps.orgs.models import Membership, OrgOwnedModel, OrgScopedQuerySet


class ConnectionQuerySet(OrgScopedQuerySet):
    def for_actor(self, actor, action: str = "view"):
        """A calendar connection is personal: its owner sees and changes it, nobody else
        (an admin manages people's calendars by asking them, not by reading them)."""
        if actor is None or actor.org_id is None or actor.membership_id is None:
            return self.none()
        return self.filter(org_id=actor.org_id, membership_id=actor.membership_id)


class CalendarConnection(OrgOwnedModel):
    class Status(models.TextChoices):
        PENDING = "pending"  # consent started, not finished
        ACTIVE = "active"
        NEEDS_RECONSENT = "needs_reconsent"  # the refresh token stopped working: busy time no longer blocks
        REVOKED = "revoked"  # disconnected

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=16, default="google")
    account_email = models.CharField(max_length=254, blank=True)
    access_token_enc = models.TextField(blank=True, help_text="Fernet ciphertext (PII keys)")
    refresh_token_enc = models.TextField(blank=True, help_text="Fernet ciphertext (PII keys)")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    oauth_state = models.CharField(max_length=128, blank=True, db_index=True)
    oauth_verifier = models.CharField(max_length=128, blank=True, help_text="PKCE verifier of the pending consent")
    write_entries = models.BooleanField(default=False, help_text="Also write assigned schedule entries")
    entries_synced_at = models.DateTimeField(
        null=True, blank=True, help_text="Last full pass over the person's schedule entries (null: one is due)"
    )
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "provider"], name="uniq_calendar_connection_member")
        ]
        ordering = ["-id"]

    def __str__(self):
        return f"{self.provider} {self.account_email or self.membership_id} ({self.status})"

    @property
    def access_token(self) -> str:
        return decrypt(self.access_token_enc)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_enc = encrypt(value or "")

    @property
    def refresh_token(self) -> str:
        return decrypt(self.refresh_token_enc)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_enc = encrypt(value or "")


class ConnectedCalendar(OrgOwnedModel):
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="calendars")
    calendar_id = models.CharField(max_length=255)
    summary = models.CharField(max_length=255, blank=True)
    primary = models.BooleanField(default=False)
    check_conflicts = models.BooleanField(default=True)
    write_target = models.BooleanField(default=False)
    sync_token = models.TextField(blank=True, help_text="Reserved for events.list incremental sync")
    busy_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "calendar_id"], name="uniq_connected_calendar"),
            models.UniqueConstraint(
                fields=["connection"], condition=Q(write_target=True), name="uniq_calendar_write_target"
            ),
        ]
        ordering = ["-primary", "summary"]

    def __str__(self):
        return self.summary or self.calendar_id


class BusyBlock(OrgOwnedModel):
    """One cached busy interval of a checked calendar (Google's free/busy answer). The
    membership is copied from the connection so the busy source is one indexed query."""

    calendar = models.ForeignKey(ConnectedCalendar, on_delete=models.CASCADE, related_name="busy_blocks")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["membership", "start"], name="calendars_busy_member_start")]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="busy_block_end_after_start")
        ]


class CalendarEventLink(OrgOwnedModel):
    """What SchedKit wrote to Google for one booking, or for one instance of a schedule entry
    (`entry_ref` is the instance id: '<entry id>' or '<entry id>_<original start>')."""

    class State(models.TextChoices):
        PENDING = "pending"  # claimed, insert not confirmed yet
        SYNCED = "synced"
        DELETED = "deleted"
        FAILED = "failed"

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="event_links")
    calendar_id = models.CharField(max_length=255)
    booking_id = models.UUIDField(null=True, blank=True)
    entry_ref = models.CharField(max_length=120, blank=True)
    entry_id = models.UUIDField(null=True, blank=True, db_index=True, help_text="The master of `entry_ref`")
    google_event_id = models.CharField(max_length=1024)
    etag = models.CharField(max_length=255, blank=True)
    sequence = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # what was last written: the time (so Google's free/busy echo of our own event is not
    # taken for foreign busy time) and a digest of the body (an unchanged one is not re-sent)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    body_hash = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "booking_id"],
                condition=Q(booking_id__isnull=False),
                name="uniq_event_link_booking",
            ),
            models.UniqueConstraint(
                fields=["connection", "entry_ref"], condition=~Q(entry_ref=""), name="uniq_event_link_entry"
            ),
        ]

    def __str__(self):
        return f"{self.google_event_id} ({self.state})"
