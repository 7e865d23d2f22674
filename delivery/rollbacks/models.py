"""Rollbacks: a new production deployment of an earlier tag, started from Trunkline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Rollback(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        DISPATCHED = "dispatched", "Dispatched"
        DEPLOYING = "deploying", "Deploying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    IN_FLIGHT = (State.REQUESTED, State.DISPATCHED, State.DEPLOYING)

    repository = models.ForeignKey("gh.Repository", on_delete=models.CASCADE, related_name="rollbacks")
    environment = models.CharField(max_length=255)
    from_release = models.ForeignKey("pipeline.Release", on_delete=models.PROTECT, related_name="rollbacks_from")
    target_release = models.ForeignKey("pipeline.Release", on_delete=models.PROTECT, related_name="rollbacks_to")
    target_tag = models.CharField(max_length=255)
    target_sha = models.CharField(max_length=40)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    reason = models.TextField()
    method = models.CharField(max_length=20)
    idempotency_key = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    error = models.TextField(blank=True)
    github_run_id = models.BigIntegerField(null=True, blank=True)
    deployment = models.ForeignKey(
        "gh.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollbacks"
    )
    releases_undone = models.ManyToManyField(
        "pipeline.Release",
        related_name="undone_by",
        blank=True,
        help_text="Every release it takes out of production: those that went live after the target's version last "
        "did, up to the live one. Each is marked failed, and none is offered as a target again.",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    deploying_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # At most one rollback in flight per repository and environment, enforced by the database.
            models.UniqueConstraint(
                fields=["repository", "environment"],
                condition=Q(state__in=["requested", "dispatched", "deploying"]),
                name="one_rollback_in_flight",
            )
        ]
        indexes = [models.Index(fields=["repository", "-requested_at"], name="rollback_repo_requested")]

    def __str__(self) -> str:
        return f"{self.repository} rollback to {self.target_tag} ({self.state})"
