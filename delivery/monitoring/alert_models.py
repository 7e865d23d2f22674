"""Alertmanager's alerts and the incidents they make (docs/design.md, "Alerts and incidents"): every delivery stored
before it is processed; every alert once, by Alertmanager's identity of it (its fingerprint and the moment it started
firing); an incident per release for alerts that fired in production while it was live."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from delivery.core.models import Delivery


class AlertDelivery(Delivery):
    """One POST of Alertmanager's webhook, stored before it is answered and processed at most once as GitHub's and
    ClickUp's are (core.deliveries); the raw body is kept (a byte-identical second POST is the same delivery:
    acknowledged, not stored again). A message that is not Alertmanager's is kept too, refused."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused: not Alertmanager's message"

    body_sha256 = models.CharField(max_length=64, unique=True)
    receiver = models.CharField(max_length=200, blank=True)
    group_key = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, blank=True, help_text="firing or resolved, as Alertmanager said.")
    alert_count = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["outcome", "received_at"], name="alert_delivery_outcome")]
        verbose_name_plural = "alert deliveries"

    def __str__(self) -> str:
        return f"{self.receiver} {self.status} ({self.alert_count}) {self.received_at:%Y-%m-%d %H:%M:%S}"


class Incident(models.Model):
    """Alerts that fired in production while `release` was live, from the first one's start until the last one
    resolved; an alert that starts after that is a new incident. It counts its release as failed in the metrics
    (docs/design.md, "Metrics") unless an admin dismissed it."""

    release = models.ForeignKey("pipeline.Release", on_delete=models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=300, help_text="Its first alert's name and summary.")
    started_at = models.DateTimeField(help_text="Its first alert's startsAt: the failure's moment.")
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When its last alert resolved.")
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["release", "started_at"], name="incident_release_started")]

    def __str__(self) -> str:
        return f"{self.title} ({self.release_id})"


class Alert(models.Model):
    """One alert as Alertmanager identifies it: its fingerprint (a hash of its labels) and the moment it started
    firing. Firing, then resolved: one row; resolved is final (a late or replayed "firing" changes nothing)."""

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    fingerprint = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="When it resolved; empty while it fires.")
    status = models.CharField(max_length=10, choices=Status.choices)
    name = models.CharField(max_length=200, blank=True, help_text="Its alertname label.")
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.TextField(blank=True)
    repository = models.ForeignKey(
        "gh.Repository",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        help_text="The repository whose matchers its labels match; empty: unmatched.",
    )
    production = models.BooleanField(default=False, help_text="Its labels match the repository's production matchers.")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    last_delivery = models.ForeignKey(AlertDelivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [models.UniqueConstraint(fields=["fingerprint", "starts_at"], name="alert_identity")]
        indexes = [
            models.Index(fields=["repository", "starts_at"], name="alert_repository_started"),
            models.Index(fields=["status", "starts_at"], name="alert_status_started"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.fingerprint} {self.status} since {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def labels_text(self) -> str:
        """Its labels as Alertmanager prints them, its name left out: `env="production", service="billing"`."""
        return ", ".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()) if k != "alertname")

    @property
    def summary(self) -> str:
        """What the alert says in words: its summary or description annotation, else its name."""
        for key in ("summary", "description", "message"):
            if text := str(self.annotations.get(key) or "").strip():
                return text
        return self.name or self.fingerprint
