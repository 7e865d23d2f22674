"""Weekly retrospective reports: immutable snapshots of one ISO week's figures."""

from __future__ import annotations

from django.db import models


class WeeklyReport(models.Model):
    iso_year = models.PositiveSmallIntegerField()
    iso_week = models.PositiveSmallIntegerField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    figures = models.JSONField(help_text="Every figure of the report, frozen when it was generated.")
    generated_at = models.DateTimeField(auto_now_add=True)
    posted_to_slack_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-iso_year", "-iso_week"]
        constraints = [models.UniqueConstraint(fields=["iso_year", "iso_week"], name="weekly_report_unique_week")]

    def __str__(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"
