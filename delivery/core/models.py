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
