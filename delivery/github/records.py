"""Trunkline's own records of the mirror: every webhook delivery (stored before it is processed), and each
repository's sync bookmarks (SyncCursor) and sync runs (SyncRun)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from delivery.core.models import Delivery


class WebhookDelivery(Delivery):
    """Every GitHub webhook delivery, stored before it is processed; the raw body is kept for replay."""

    guid = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=60, db_index=True)
    action = models.CharField(max_length=60, blank=True)
    hook_id = models.BigIntegerField(null=True, blank=True)
    repository = models.ForeignKey("gh.Repository", null=True, blank=True, on_delete=models.SET_NULL)
    repository_full_name = models.CharField(max_length=201, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["outcome", "received_at"], name="delivery_outcome_received")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event}.{self.action} {self.guid}"


class SyncCursor(models.Model):
    """Per repository and resource: where the last *complete* sync got to. A bookmark moves only after the
    resource's sync fully succeeded, so an interrupted sync resumes from the old one without loss."""

    class Resource(models.TextChoices):
        REPOSITORIES = "repositories", "Repositories"
        PULL_REQUESTS = "pull_requests", "Pull requests"
        COMMITS = "commits", "Commits on the default branch"
        TAGS = "tags", "Tags"
        DEPLOYMENTS = "deployments", "Deployments"
        WORKFLOW_RUNS = "workflow_runs", "Workflow runs"
        WEBHOOK_DELIVERIES = "webhook_deliveries", "Failed webhook deliveries checked on GitHub"

    repository = models.ForeignKey(
        "gh.Repository", null=True, blank=True, on_delete=models.CASCADE, related_name="sync_cursors"
    )
    resource = models.CharField(max_length=20, choices=Resource.choices)
    etag = models.CharField(max_length=200, blank=True, help_text="ETag of the first list page.")
    page_etags = models.JSONField(
        default=dict, blank=True, help_text="Lists not sorted by change: the ETag of every page, by page number."
    )
    high_water_at = models.DateTimeField(null=True, blank=True)
    high_water_key = models.CharField(max_length=100, blank=True, help_text="Last sha or id fully synced.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["repository", "resource"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "resource"], condition=Q(repository__isnull=False), name="cursor_unique"
            ),
            models.UniqueConstraint(
                fields=["resource"], condition=Q(repository__isnull=True), name="cursor_unique_org_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository or 'org'}:{self.resource}"


class SyncRun(models.Model):
    """One run of the sync (a repository, or the organization's repository list), with its summary."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        WAITING = "waiting", "Waiting (rate limit or outage)"
        SKIPPED = "skipped", "Skipped"
        INTERRUPTED = "interrupted", "Interrupted (its worker stopped)"

    repository = models.ForeignKey(
        "gh.Repository", null=True, blank=True, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=30, default="schedule")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The running sync's last sign of life (renewed with its lease)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    not_modified = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True, help_text="Objects skipped, each with its reason.")
    malformed = models.PositiveIntegerField(
        default=0, help_text="Objects GitHub sent malformed: skipped (their reasons are among `skipped`)."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["repository", "-started_at"], name="syncrun_repo_started")]

    def __str__(self) -> str:
        return f"sync {self.repository or 'org'} {self.status}"
