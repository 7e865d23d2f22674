"""Weekly retrospective reports: immutable snapshots of one ISO week's figures, for the organization or one team.
A snapshot is never changed: a rebuild whose content differs is stored as the next version, the old one kept."""

from __future__ import annotations

from django.conf import settings
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


class Agreement(models.Model):
    """A working agreement: a team's (or the organization's) own target on one figure, judged week by week by the
    report (delivery.reports.agreements says how each kind is judged)."""

    class Kind(models.TextChoices):
        PICKUP = "pickup", "First review within N working hours"
        BRANCH_AGE = "branch_age", "No branch lives longer than N days"
        WATCHED = "watched", "Production releases watched and signed off in time, at least N %"
        FAILURE_RATE = "change_failure_rate", "Change failure rate at most N %"
        PR_SIZE = "pr_size", "PR size median at most N lines"
        LEAD_TIME = "lead_time", "Lead time median at most N hours"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    threshold = models.FloatField(help_text="N, in the kind's unit (working hours, days, %, lines or hours).")
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="agreements",
        help_text="Whose work it is about; empty: the organization's.",
    )
    repositories = models.ManyToManyField(
        "gh.Repository", blank=True, related_name="agreements", help_text="Empty: every followed repository."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__slug", "kind", "pk"]
        constraints = [models.CheckConstraint(condition=models.Q(threshold__gt=0), name="agreement_threshold_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (N = {self.threshold:g})"
