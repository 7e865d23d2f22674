"""The developer's post-deploy watch ("watch" on the pages): one monitoring session per owner for one or more
releases of one repository shipped within one window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from delivery.pipeline.models import Release


class MonitoringSession(models.Model):
    class Decision(models.TextChoices):
        KEEP = "keep", "Keep"
        FIX_FORWARD = "fix_forward", "Fix forward"
        ROLL_BACK = "roll_back", "Roll back"
        ROLLED_BACK = "rolled_back", "Rolled back"  # ended by a rollback of what it covers, not chosen by its owner

    OWNER_DECISIONS = (Decision.KEEP, Decision.FIX_FORWARD, Decision.ROLL_BACK)

    release = models.ForeignKey(
        "pipeline.Release",
        on_delete=models.CASCADE,
        related_name="monitoring_sessions",
        help_text="The newest release it covers: the one its dashboard links and rollback point at.",
    )
    releases: models.ManyToManyField[Release, WatchedRelease] = models.ManyToManyField(
        "pipeline.Release", through="WatchedRelease", related_name="watches", help_text="Every release it covers."
    )
    owner = models.ForeignKey("accounts.Developer", on_delete=models.CASCADE, related_name="monitoring_sessions")
    window_starts_at = models.DateTimeField(help_text="The first covered deployment's success.")
    window_ends_at = models.DateTimeField(help_text="The last covered deployment's success plus the watch window.")
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    notes = models.TextField(blank=True)
    signed_off_verdict = models.CharField(
        max_length=20, blank=True, help_text="The signals' verdict when it was signed off (monitoring.signal_records)."
    )
    signed_off_evidence = models.JSONField(default=list, blank=True, help_text="Its evidence then, signal by signal.")
    owner_alerted_at = models.DateTimeField(null=True, blank=True)
    on_call_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Not stored: its state at a moment (monitoring.selectors.watch_state), set by the selectors that show it.
    state: str

    class Meta:
        ordering = ["-window_starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["release", "owner"], name="monitoring_session_unique"),
            models.CheckConstraint(
                condition=models.Q(signed_off_at__isnull=True) | ~models.Q(decision=""),
                name="monitoring_signoff_has_decision",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "signed_off_at"], name="session_owner_signed"),
            models.Index(fields=["signed_off_at", "window_ends_at"], name="session_open_window"),
        ]

    def __str__(self) -> str:
        return f"{self.release} watched by {self.owner}"


class WatchedRelease(models.Model):
    """A release covered by a watch. Each owner watches each release in one watch only (the database says so), so
    opening watches twice changes nothing."""

    session = models.ForeignKey(MonitoringSession, on_delete=models.CASCADE, related_name="+")
    release = models.ForeignKey("pipeline.Release", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey("accounts.Developer", on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField(help_text="When the release went live (and joined the watch).")

    class Meta:
        ordering = ["session", "joined_at"]
        constraints = [models.UniqueConstraint(fields=["release", "owner"], name="watched_release_unique")]

    def __str__(self) -> str:
        return f"{self.release_id} in watch {self.session_id}"


class ChecklistItem(models.Model):
    session = models.ForeignKey(MonitoringSession, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=50)
    text = models.CharField(max_length=300)
    requires_full_window = models.BooleanField(default=False)
    task = models.CharField(
        max_length=50,
        blank=True,
        help_text="The ClickUp task (as people write it) whose acceptance criterion this is: 'Verify in production'.",
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [models.UniqueConstraint(fields=["session", "key"], name="checklist_item_unique_key")]

    def __str__(self) -> str:
        return self.text


# Alertmanager's alerts and their incidents, and the watch's signal readings, live in modules of their own; imported
# here so Django finds them.
from delivery.monitoring.alert_models import Alert, AlertDelivery, Incident  # noqa: E402
from delivery.monitoring.signal_records import Judgement, SignalReading, WatchVerdict  # noqa: E402

__all__ = [
    "Alert",
    "AlertDelivery",
    "ChecklistItem",
    "Incident",
    "Judgement",
    "MonitoringSession",
    "SignalReading",
    "WatchVerdict",
    "WatchedRelease",
]
