"""What the watch read of production: per watch, per signal, the series of the window and of the baseline before the
deploy (compacted), the judgement and its words, and how many reads failed in a row; per watch, the verdict and who
was told. The watch page renders from these rows, never from Prometheus or Sentry (monitoring.readings writes them)."""

from __future__ import annotations

from django.db import models


class Judgement(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class WatchVerdict(models.Model):
    """The watch's verdict from its signals' judgements: degraded when one is, else inconclusive when one is (never
    healthy on a source that failed or had no data), else healthy. One row per watch, written by each read; the first
    degraded read's moment and evidence stay when it recovers (the owner was told)."""

    session = models.OneToOneField("monitoring.MonitoringSession", on_delete=models.CASCADE, related_name="verdict")
    verdict = models.CharField(max_length=20, choices=Judgement.choices, blank=True)
    summary = models.CharField(max_length=500, blank=True, help_text="The verdict's evidence in one line.")
    evidence = models.JSONField(
        default=list, blank=True, help_text="Each signal's judgement and words: [{signal, judgement, reason}]."
    )
    degraded_since = models.DateTimeField(null=True, blank=True)
    first_degraded_at = models.DateTimeField(
        null=True, blank=True, help_text="Since when its first degraded read said it was: set once, never cleared."
    )
    last_degraded_at = models.DateTimeField(null=True, blank=True, help_text="The last read that read it degraded.")
    degraded_evidence = models.JSONField(
        default=list, blank=True, help_text="The evidence of its first degraded read, kept when it recovers."
    )
    read_at = models.DateTimeField(null=True, blank=True)
    read_until = models.DateTimeField(null=True, blank=True, help_text="The end of the window the last read covered.")
    reading_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker reads it until then (a lease claimed with a conditional UPDATE)."
    )
    owner_told_at = models.DateTimeField(null=True, blank=True)
    on_call_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["verdict", "on_call_told_at"], name="verdict_escalation")]

    def __str__(self) -> str:
        return f"watch {self.session_id}: {self.verdict or 'not read'}"


class SignalReading(models.Model):
    class Source(models.TextChoices):
        PROMETHEUS = "prometheus", "Prometheus"
        SENTRY = "sentry", "Sentry"
        ALERTMANAGER = "alertmanager", "Alertmanager"

    session = models.ForeignKey(
        "monitoring.MonitoringSession", on_delete=models.CASCADE, related_name="signal_readings"
    )
    signal = models.CharField(max_length=100, help_text="The query's name, or the Sentry signal's.")
    source = models.CharField(max_length=20, choices=Source.choices)
    position = models.PositiveSmallIntegerField(default=0)
    unit = models.CharField(max_length=20, blank=True)
    rule = models.CharField(max_length=200, blank=True, help_text="The rule in words.")
    query = models.TextField(blank=True, help_text="The query sent, filled in (its baseline is kept with it).")
    judgement = models.CharField(max_length=20, choices=Judgement.choices)
    reason = models.CharField(max_length=500, help_text="Why, in words: by how much, since when, or what failed.")
    value = models.FloatField(null=True, blank=True, help_text="The window's latest value.")
    baseline = models.FloatField(null=True, blank=True, help_text="The median before the deploy.")
    threshold = models.FloatField(null=True, blank=True)
    degraded_since = models.DateTimeField(null=True, blank=True)
    window_points = models.JSONField(default=list, blank=True, help_text="[[seconds after the deploy, value], …]")
    baseline_points = models.JSONField(default=list, blank=True, help_text="[[seconds before the deploy, value], …]")
    baseline_seconds = models.PositiveIntegerField(default=0, help_text="The baseline's length when it was read.")
    issues = models.JSONField(default=list, blank=True, help_text="Sentry's new and regressed issues, with links.")
    errors = models.PositiveSmallIntegerField(default=0, help_text="Reads that failed in a row.")
    last_error = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField()
    judged_at = models.DateTimeField(null=True, blank=True, help_text="The last read that succeeded.")

    class Meta:
        ordering = ["session", "position", "signal"]
        constraints = [models.UniqueConstraint(fields=["session", "signal"], name="signal_reading_unique")]

    def __str__(self) -> str:
        return f"{self.signal} of watch {self.session_id}: {self.judgement}"
