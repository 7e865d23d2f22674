"""People: GitHub accounts known to Trunkline, and the audit trail of what they did."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    """docs/design.md's roles; each is a Django group of the same name (see accounts.roles)."""

    VIEWER = "viewer", "Viewer"
    DEVELOPER = "developer", "Developer"
    ON_CALL = "on-call", "On-call"
    ADMIN = "admin", "Admin"


class Developer(models.Model):
    """A GitHub account seen by the sync or a webhook; linked to a Django user when that person signs in."""

    github_id = models.BigIntegerField(unique=True)
    login = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    is_bot = models.BooleanField(default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="developer"
    )
    slack_member_id = models.CharField(max_length=50, blank=True)
    clickup_user_id = models.CharField(max_length=50, blank=True)
    clickup_set_by_hand = models.BooleanField(
        default=False,
        help_text="Their ClickUp account (or none) was chosen on their page: matching by e-mail leaves it alone.",
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["login"]
        # What the roles may do (accounts.roles gives each role group its permissions; superusers have all).
        permissions = [
            ("view_dashboard", "See boards, queues and reports"),
            ("sign_off_own_monitoring", "Sign off their own monitoring session"),
            ("start_own_rollback", "Start a rollback of their own release"),
            ("start_any_rollback", "Start a rollback of any release"),
            ("sync_repository", "Ask for a repository sync"),
            ("manage_team", "Change roles, the on-call rotation and repository settings"),
            ("operate_webhooks", "See and replay webhook deliveries"),
        ]

    def __str__(self) -> str:
        return self.login


class AuditEvent(models.Model):
    """Who did what, when: sign-in, rollback, sign-off, settings change. Rows are never edited."""

    class Verb(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_OUT = "sign_out", "Signed out"
        SIGN_IN_REFUSED = "sign_in_refused", "Sign-in refused"
        ROLLBACK_REQUESTED = "rollback_requested", "Rollback requested"
        ROLLBACK_DISPATCHED = "rollback_dispatched", "Rollback dispatched"
        ROLLBACK_FINISHED = "rollback_finished", "Rollback finished"
        MONITORING_ITEM_CHECKED = "monitoring_item_checked", "Monitoring item checked"
        MONITORING_SIGNED_OFF = "monitoring_signed_off", "Monitoring signed off"
        SETTINGS_CHANGED = "settings_changed", "Settings changed"
        ROLE_CHANGED = "role_changed", "Role changed"
        ON_CALL_CHANGED = "on_call_changed", "On-call changed"
        WEBHOOK_REPLAYED = "webhook_replayed", "Webhook replayed"
        SYNC_STARTED = "sync_started", "Sync started"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        TOKEN_USED = "token_used", "API token used"
        RELEASE_FIX_LINKED = "release_fix_linked", "Release named as a fix"
        RELEASE_FAILURE_DISMISSED = "release_failure_dismissed", "Release failure dismissed"
        AGREEMENT_SET = "agreement_set", "Working agreement set"
        AGREEMENT_REMOVED = "agreement_removed", "Working agreement removed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_login = models.CharField(max_length=150, blank=True, help_text="Kept when the user is deleted.")
    verb = models.CharField(max_length=40, choices=Verb.choices, db_index=True)
    repository = models.ForeignKey(
        "gh.Repository", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.actor_login or 'system'} {self.verb} {self.target_type}:{self.target_id}"


class OnCallRotation(models.Model):
    """The weekly on-call rotation (one row): who takes turns, in order, and when the week hands over.
    Member i is on call in the i-th week (mod the number of members) counted from `starts_on`."""

    starts_on = models.DateField(help_text="The first week's handover day.")
    handover_hour = models.PositiveSmallIntegerField(default=9, help_text="Hour of the handover, in TIME_ZONE.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"Weekly rotation from {self.starts_on:%Y-%m-%d} {self.handover_hour:02d}:00"


class OnCallRotationMember(models.Model):
    rotation = models.ForeignKey(OnCallRotation, on_delete=models.CASCADE, related_name="members")
    developer = models.ForeignKey(Developer, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "position"], name="rotation_member_position"),
            models.UniqueConstraint(fields=["rotation", "developer"], name="rotation_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.developer}"


class OnCallShift(models.Model):
    """A manual override of the rotation: this person is on call from `starts_at` to `ends_at`."""

    developer = models.ForeignKey(Developer, on_delete=models.CASCADE, related_name="on_call_shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_override = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.developer} on call {self.starts_at:%Y-%m-%d %H:%M} → {self.ends_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A personal API token (`Authorization: Bearer <token>`): stored as its SHA-256 only, shown once when made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Team(models.Model):
    """A GitHub team of the organization, with its members as GitHub lists them (the periodic sync keeps it)."""

    github_id = models.BigIntegerField(unique=True)
    slug = models.SlugField(max_length=100, unique=True, help_text="GitHub's slug: the team's name in URLs.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(Developer, related_name="teams", blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
