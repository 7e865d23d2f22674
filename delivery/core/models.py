"""Process-wide bookkeeping: the worker's heartbeat, read by the health check."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last time a process of this kind proved it was alive (one row per kind: `worker`)."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True, help_text="Which process, e.g. the worker's hostname.")

    def __str__(self) -> str:
        return f"{self.name} alive at {self.at:%Y-%m-%d %H:%M:%S}"


class Delivery(models.Model):
    """A webhook delivery from an outside service (GitHub, ClickUp), stored before it is processed, with the raw body
    kept for replay, and the bookkeeping of its processing (delivery.core.deliveries: queued, claimed by one worker
    whose heartbeat renews the claim, processed at most once)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="Handed to the broker; empty while the broker could not take it."
    )
    processing_started_at = models.DateTimeField(null=True, blank=True)
    claim_heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed while a worker processes it: a claim not renewed is a dead worker's."
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.CharField(max_length=500, blank=True, help_text="What processing did, in words.")
    body = models.BinaryField()

    class Meta:
        abstract = True
