"""The notification log: a row is written before each send and records the outcome."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Notification(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        LOGGED = "logged", "Logged only (no transport configured)"
        FAILED = "failed", "Failed (will retry)"
        PERMANENT_FAILURE = "permanent_failure", "Failed permanently"
        HISTORY = "history", "Not sent: history (learned of too late to be news)"

    kind = models.CharField(max_length=50, db_index=True)
    transport = models.CharField(max_length=20, default="slack")
    target = models.CharField(max_length=200, blank=True, help_text="Channel or member id.")
    dedupe_key = models.CharField(max_length=200, unique=True)
    text = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    repository = models.ForeignKey("gh.Repository", null=True, blank=True, on_delete=models.SET_NULL)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event_at = models.DateTimeField(
        default=timezone.now, help_text="When what it tells of happened (a deploy's success, a failure)."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Delivery bookkeeping (notifications.service): a pending or failed row is sent once `next_attempt_at` has
    # passed; a worker claims it by moving it to `sending` with a conditional UPDATE, and `sending_started_at` is
    # that claim's token (the outcome is written only while it still matches).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    message_ts = models.CharField(max_length=50, blank=True, help_text="Slack's id of the posted message (Web API).")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["outcome", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.target or '(log)'} {self.outcome}"
