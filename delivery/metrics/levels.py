"""DORA's performance levels (from the METRICS_LEVELS setting: the 2023 report's table by default) and the 0-10
scores of DORA's Quick Check, next to the published averages."""

from __future__ import annotations

from django.conf import settings

DAY = 86_400.0
WEEK = 7 * DAY
MONTH = 30 * DAY
SIX_MONTHS = 182 * DAY

AVERAGES_2025 = {"lead_time": 5.5, "deployment_frequency": 4.8, "recovery_time": 7.4}
"""The Quick Check's published averages (2025), shown beside the team's scores."""


def level_at_least(value: float | None, key: str) -> str | None:
    """The level of a figure that is better when higher (deployment days per week)."""
    if value is None:
        return None
    cut = settings.METRICS_LEVELS[key]
    return next((name for name in ("elite", "high", "medium") if value >= cut[name]), "low")


def level_below(value: float | None, key: str, *, inclusive: bool = False) -> str | None:
    """The level of a figure that is better when lower (times: less than the cut; failure rate: at most it)."""
    if value is None:
        return None
    cut = settings.METRICS_LEVELS[key]
    for name in ("elite", "high", "medium"):
        if value < cut[name] or (inclusive and value <= cut[name]):
            return name
    return "low"


def score_duration(seconds: float | None) -> float | None:
    """Lead time and recovery on the Quick Check's six answers: more than six months 0 … less than an hour 10."""
    if seconds is None:
        return None
    for limit, score in ((3_600.0, 10.0), (DAY, 8.0), (WEEK, 6.0), (MONTH, 4.0), (SIX_MONTHS, 2.0)):
        if seconds < limit:
            return score
    return 0.0


def score_frequency(per_day: float | None) -> float | None:
    """Deployment frequency on the Quick Check's six answers: on demand (several a day) 10, once an hour to once a
    day 8, once a day to once a week 6, once a week to once a month 4, once a month to once in six months 2, less 0."""
    if per_day is None:
        return None
    for at_least, score in ((2.0, 10.0), (1.0, 8.0), (1 / 7, 6.0), (1 / 30, 4.0), (1 / 182, 2.0)):
        if per_day >= at_least:
            return score
    return 0.0


def score_rate(rate: float | None) -> float | None:
    """A failure or rework rate scores 10 * (1 - rate)."""
    return None if rate is None else round(10 * (1 - rate), 1)
