"""Weekly retrospective reports: immutable snapshots of one ISO week's figures, for the organization or one team.
A snapshot is never changed: a rebuild whose content differs is stored as the next version, the old one kept."""

from __future__ import annotations

from django.db import models


class WeeklyReport(models.Model):
    iso_year = models.PositiveSmallIntegerField()
    iso_week = models.PositiveSmallIntegerField()
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="weekly_reports",
        help_text="The team it is about; empty: the organization.",
    )
    team_slug = models.SlugField(
        max_length=100, blank=True, help_text="The team's slug when it was built (kept if GitHub removes the team)."
    )
    version = models.PositiveSmallIntegerField(default=1)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    figures = models.JSONField(help_text="Every figure of the report, frozen when it was generated.")
    generated_at = models.DateTimeField(auto_now_add=True)
    posted_to_slack_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-iso_year", "-iso_week", "team_slug", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["iso_year", "iso_week", "team_slug", "version"], name="weekly_report_unique_version"
            )
        ]

    def __str__(self) -> str:
        scope = f" {self.team_slug}" if self.team_slug else ""
        return f"{self.iso_year}-W{self.iso_week:02d}{scope} v{self.version}"

    @property
    def week_label(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"
