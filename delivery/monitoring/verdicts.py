"""Judging the watch's signals (pure: no database, no network). A series is judged by its latest point against the
rule's threshold over the baseline (the median of the same length of time before the deploy); Sentry's issues by
whether one new or regressed since the deploy has more events than the repository allows; a read that failed
follows Argo Rollouts' rule: the judgement before it stands until ERRORS_BEFORE_INCONCLUSIVE reads in a row failed,
then the signal is inconclusive, and a signal never read successfully is inconclusive at once. A degradation that is
not this release's is inconclusive, never degraded: a series already above its limit before the deploy (the release
before did it), or one that began at or after the next production deploy (that deploy did it). The watch is degraded
when a signal is, else inconclusive when a signal is (never healthy on a source that failed or had no data), else
healthy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median

from django.utils import timezone

from delivery.github.signal_settings import RATIO, Rule, value_words
from delivery.monitoring.sentry import SentryIssue
from delivery.monitoring.signal_records import Judgement

Point = tuple[float, float]
ERRORS_BEFORE_INCONCLUSIVE = 4
"""Argo Rollouts' consecutiveErrorLimit: this many failed reads in a row make a signal inconclusive."""


@dataclass(frozen=True)
class Judged:
    judgement: str
    reason: str
    value: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    degraded_since: datetime | None = None


def clock(moment: datetime) -> str:
    """`14:05` in the organization's time zone (TIME_ZONE)."""
    return timezone.localtime(moment).strftime("%H:%M")


@dataclass(frozen=True)
class NextDeploy:
    """The next production deployment attempt of the repository after the watched release went live (successful or
    not): a degradation that begins at or after `at` is its doing."""

    name: str
    at: datetime


def series_judge(
    *,
    window: list[Point],
    baseline: list[Point],
    rule: Rule,
    unit: str,
    baseline_minutes: int,
    lookback_seconds: float = 0,
) -> Judged:
    """The latest point of the window against the rule's threshold over the baseline; degraded since the first point
    of the run above it that reaches the latest. A series already above the threshold at the end of the baseline (its
    last point whose `lookback_seconds`, the query's range, ends before the deploy) is inconclusive whatever it reads
    now: the release before made it so, not this one."""
    if not window:
        return Judged(
            Judgement.INCONCLUSIVE,
            "No data since the deploy: the query gives no series (does the service report, and does the query's "
            "environment match?)",
        )
    base = median(v for _, v in baseline) if baseline else None
    threshold = rule.threshold(base)
    latest = window[-1][1]
    if threshold is None:
        return Judged(
            Judgement.INCONCLUSIVE,
            f"No data in the {baseline_minutes} min before the deploy: no baseline to judge "
            f"{value_words(latest, unit)} against",
            value=latest,
        )
    limit = f"degraded {rule.words(unit)}: {value_words(threshold, unit)}"
    before_deploy = [(at, v) for at, v in baseline if at <= baseline[-1][0] - lookback_seconds] if baseline else []
    if before_deploy and before_deploy[-1][1] > threshold:
        return Judged(
            Judgement.INCONCLUSIVE,
            f"{value_words(latest, unit)} now, already above its limit before this deploy "
            f"(since {clock(_run_start(before_deploy, threshold))}): not this release's doing ({limit})",
            latest,
            base,
            threshold,
        )
    if latest <= threshold:
        before = f", {value_words(base, unit)} before the deploy" if base is not None else ""
        return Judged(Judgement.HEALTHY, f"{value_words(latest, unit)} now{before} ({limit})", latest, base, threshold)
    started = _run_start(window, threshold)
    return Judged(
        Judgement.DEGRADED,
        f"{value_words(latest, unit)} since {clock(started)}, {_how_much(latest, base, unit)} ({limit})",
        latest,
        base,
        threshold,
        started,
    )


def _run_start(points: list[Point], threshold: float) -> datetime:
    """When the run of points above the threshold that reaches the last one began."""
    since = points[-1][0]
    for at, value in reversed(points):
        if value <= threshold:
            break
        since = at
    return datetime.fromtimestamp(since, UTC)


def next_deploy_blamed(judged: Judged, next_deploy: NextDeploy | None) -> Judged:
    """A degradation that began at or after the next production deploy is that deploy's: inconclusive for this
    release's watch, in words naming it (the window is not cut: the series stay for the chart)."""
    since = judged.degraded_since
    if next_deploy is None or judged.judgement != Judgement.DEGRADED or since is None or since < next_deploy.at:
        return judged
    return Judged(
        Judgement.INCONCLUSIVE,
        f"got worse after the deploy of {next_deploy.name} at {clock(next_deploy.at)}, not this release "
        f"({judged.reason})",
        judged.value,
        judged.baseline,
        judged.threshold,
    )


def _how_much(value: float, base: float | None, unit: str) -> str:
    if base is None:
        return "with no baseline"
    before = f"the {value_words(base, unit)} before the deploy"
    if unit == RATIO:
        points = f"+{(value - base) * 100:.2g} pp"
        return f"{points} on {before}" if base <= 0 else f"{value / base:.1f} × {before} ({points})"
    return f"{value / base:.1f} × {before}" if base > 0 else f"against {before}"


def issues_judge(
    issues: list[SentryIssue], *, since: datetime, more_than: int
) -> tuple[Judged, list[dict[str, object]]]:
    """Issues first seen since the deploy (new) and those Sentry calls regressed with events since it: degraded when
    one has more than `more_than` events. Returns the judgement and the issues kept (new first, most events first)."""
    new = [i for i in issues if i.first_seen >= since]
    regressed = [i for i in issues if i.first_seen < since and i.substatus == "regressed" and i.last_seen >= since]
    kept = sorted(
        [i.as_dict("new") for i in new] + [i.as_dict("regressed") for i in regressed],
        key=lambda row: (row["kind"] != "new", -int(str(row["count"]))),
    )
    noisy = [i for i in new + regressed if i.count > more_than]
    seen = f"{len(new)} new, {len(regressed)} regressed since the deploy"
    if not noisy:
        quiet = f"No new or regressed issue with more than {more_than} events"
        return Judged(Judgement.HEALTHY, f"{quiet} ({seen})" if new or regressed else quiet, value=0), kept
    worst = max(noisy, key=lambda i: i.count)
    first = min((i.first_seen if i in new else since) for i in noisy)
    return (
        Judged(
            Judgement.DEGRADED,
            f"{len(noisy)} issue{'s' if len(noisy) != 1 else ''} with more than {more_than} events since "
            f"{clock(first)} ({seen}); the worst: {worst.title[:80]} ({worst.count} events)",
            value=float(len(noisy)),
            threshold=float(more_than),
            degraded_since=first,
        ),
        kept,
    )


def after_error(*, previous: Judged | None, errors: int, error: str) -> Judged:
    """The judgement after a read that failed, the `errors`-th in a row: the one before it stands below the limit,
    then inconclusive; never read before, inconclusive at once."""
    if previous is None or errors >= ERRORS_BEFORE_INCONCLUSIVE:
        row = f" ({errors} reads in a row failed)" if errors > 1 else ""
        return Judged(Judgement.INCONCLUSIVE, f"{error}{row}"[:500])
    return previous


def error_note(errors: int, error: str, *, standing: bool) -> str:
    """What the page adds to a judgement that stands through failed reads (`standing`: one read before succeeded;
    else the failure is the judgement itself, already in its words)."""
    if not standing or not errors or errors >= ERRORS_BEFORE_INCONCLUSIVE:
        return ""
    return f"The last read failed ({errors} of {ERRORS_BEFORE_INCONCLUSIVE} before inconclusive): {error}"


def watch_verdict(judgements: Iterable[str]) -> str:
    """Degraded when a signal is, else inconclusive when one is, else healthy; "" for no signal."""
    found = set(judgements)
    for verdict in (Judgement.DEGRADED, Judgement.INCONCLUSIVE, Judgement.HEALTHY):
        if verdict in found:
            return verdict
    return ""
