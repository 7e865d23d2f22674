"""Reading each open watch's production signals and judging them (the service behind beat's
`flows.watch_signals_read`): Prometheus's queries over the window so far and over a baseline of the same length
before the deploy, Sentry's new and regressed issues since the deploy; every reading stored (the series compacted),
the watch's verdict with its evidence, its owner told once when it turns degraded and on-call once when the owner has
not acted MONITORING_ESCALATION_MINUTES later.

Nothing here is held open while a source answers: each watch is claimed with a conditional UPDATE of its verdict's
lease (two workers never read one watch at once), its sources read outside any transaction, then its rows written.
A source that fails gives words, never an exception: see monitoring.verdicts for how failures are judged."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.accounts.oncall import on_call_now
from delivery.github.models import Deployment, Repository
from delivery.github.signal_settings import SENTRY_SIGNAL, query_fill, rule_parse
from delivery.monitoring.alert_selectors import firing_alerts
from delivery.monitoring.models import Alert, MonitoringSession
from delivery.monitoring.prometheus import Point, PrometheusClient
from delivery.monitoring.sentry import SentryClient, SentryIssue
from delivery.monitoring.signal_http import SignalReadError
from delivery.monitoring.signal_records import Judgement, SignalReading, WatchVerdict
from delivery.monitoring.verdicts import (
    Judged,
    NextDeploy,
    after_error,
    error_note,
    issues_judge,
    next_deploy_blamed,
    series_judge,
    watch_verdict,
)

logger = logging.getLogger(__name__)
READ_LEASE = timedelta(minutes=2)
"""A worker reads a watch for at most this long (every source has a timeout of seconds)."""
POINTS_PER_SERIES = 60
MIN_STEP_SECONDS = 15
MIN_RANGE_SECONDS = 60
"""`$window`, the range each point looks back over: twice the step, at least a minute (rate() needs two samples)."""
READ_FOR = timedelta(days=1)
"""An open watch whose window ended longer ago than this is not read (a window is read to its end, once)."""

DegradedHook = Callable[[MonitoringSession, WatchVerdict], None]
EscalationHook = Callable[[MonitoringSession, WatchVerdict, Developer | None], None]


def signals_configured() -> Q:
    """Repositories with a source to read (as a filter on Repository): Prometheus, Sentry, or Alertmanager's alerts."""
    return ~Q(prometheus_url="") | (~Q(sentry_organization="") & ~Q(sentry_project="")) | ~Q(alert_matchers="")


def watches_signals_read(*, on_degraded: DegradedHook, now: datetime | None = None) -> int:
    """Read and judge every open watch of a repository with signals whose window has not been read to its end;
    `on_degraded(session, verdict)` runs once per watch, in the transaction that claims its owner's notice, when its
    verdict is degraded. Returns how many watches were read."""
    now = now or timezone.now()
    due = (
        MonitoringSession.objects.filter(
            signed_off_at__isnull=True,
            window_starts_at__lte=now,
            window_ends_at__gte=now - READ_FOR,
            release__repository__in=Repository.objects.filter(signals_configured()),
        )
        .exclude(verdict__read_until__gte=F("window_ends_at"))
        .select_related("release", "release__repository", "owner")
        .order_by("window_starts_at", "pk")
    )
    sources = _Sources()
    read = 0
    try:
        for session in due:
            if not _claim(session, now):
                continue  # another worker reads it
            try:
                _watch_read(session, sources, on_degraded=on_degraded, now=now)
            except Exception:  # one watch's failure must not keep the others unread; logged in full
                logger.exception("watch %s: its signals could not be read and judged", session.pk)
                continue
            read += 1
    finally:
        sources.close()
    return read


def _claim(session: MonitoringSession, now: datetime) -> bool:
    WatchVerdict.objects.bulk_create([WatchVerdict(session=session)], ignore_conflicts=True)
    lease = Q(reading_until__isnull=True) | Q(reading_until__lt=now)
    return bool(WatchVerdict.objects.filter(lease, session=session).update(reading_until=now + READ_LEASE))


def _watch_read(
    session: MonitoringSession, sources: _Sources, *, on_degraded: DegradedHook, now: datetime
) -> WatchVerdict | None:
    """Read every signal of the watch, store each reading and the verdict (only while the watch is open: a sign-off
    keeps the verdict it saw); a degraded verdict claims its owner's notice in the same transaction. Returns the
    verdict, None when the watch was signed off meanwhile."""
    repository = session.release.repository
    previous = {r.signal: r for r in SignalReading.objects.filter(session=session)}
    readings: list[SignalReading] = []
    if repository.prometheus_url:
        for position, query in enumerate(repository.signal_queries or []):
            name = str(query.get("name") or f"Query {position + 1}")
            readings.append(_prometheus_read(session, query, previous.get(name), sources, position=position, now=now))
    if repository.sentry_organization and repository.sentry_project:
        readings.append(_sentry_read(session, previous.get(SENTRY_SIGNAL), sources, position=len(readings), now=now))
    named: set[str] = set()
    for alert in firing_alerts(session, now=now):  # any production alert firing during the window degrades it
        reading = _alert_reading(session, alert, position=len(readings), now=now)
        if reading.signal not in named:
            named.add(reading.signal)
            readings.append(reading)
    next_deploy = _next_deploy(session)
    for reading in readings:
        _blame(reading, next_deploy)
    verdict = watch_verdict(r.judgement for r in readings)
    evidence = [
        {
            "signal": r.signal,
            "judgement": r.judgement,
            "reason": r.reason,
            "note": error_note(r.errors, r.last_error, standing=r.judged_at is not None),
        }
        for r in readings
    ]
    telling = [r for r in readings if r.judgement == verdict] if verdict != Judgement.HEALTHY else []
    summary = "; ".join(f"{r.signal}: {r.reason}" for r in telling) or f"Every signal within its rule ({len(readings)})"
    degraded = [r.degraded_since for r in readings if r.degraded_since and r.judgement == Judgement.DEGRADED]
    since = min(degraded, default=None)
    fields: dict[str, Any] = {"last_degraded_at": now} if verdict == Judgement.DEGRADED else {}
    with transaction.atomic():
        written = WatchVerdict.objects.filter(session=session, session__signed_off_at__isnull=True).update(
            verdict=verdict,
            summary=summary[:500],
            evidence=evidence,
            degraded_since=since,
            read_at=now,
            read_until=min(now, session.window_ends_at),
            reading_until=None,
            **fields,
        )
        if not written:
            return None
        if verdict == Judgement.DEGRADED:  # its first degraded read, kept once (a conditional UPDATE), never cleared
            WatchVerdict.objects.filter(session=session, first_degraded_at__isnull=True).update(
                first_degraded_at=since or now, degraded_evidence=evidence
            )
        for reading in readings:
            SignalReading.objects.update_or_create(session=session, signal=reading.signal, defaults=_fields(reading))
        SignalReading.objects.filter(session=session).exclude(signal__in=[r.signal for r in readings]).delete()
        stored = WatchVerdict.objects.get(session=session)
        if verdict == Judgement.DEGRADED:
            _tell_owner_once(session, stored, on_degraded, now=now)
    return stored


def _next_deploy(session: MonitoringSession) -> NextDeploy | None:
    """The repository's first production deployment created after the watched release went live, successful or not
    (one query)."""
    release, repository = session.release, session.release.repository
    if release.deployed_at is None:
        return None
    later = (
        Deployment.objects.filter(
            repository=repository,
            environment=repository.production_environment,
            created_at__gt=release.deployed_at,
        )
        .order_by("created_at", "pk")
        .only("ref", "sha", "created_at")
        .first()
    )
    return NextDeploy(later.ref or later.sha[:7], later.created_at) if later else None


def _blame(reading: SignalReading, next_deploy: NextDeploy | None) -> None:
    """A reading degraded since the next production deploy, or later, is that deploy's: inconclusive here."""
    judged = Judged(
        reading.judgement, reading.reason, reading.value, reading.baseline, reading.threshold, reading.degraded_since
    )
    blamed = next_deploy_blamed(judged, next_deploy)
    if blamed is not judged:
        reading.judgement, reading.reason, reading.degraded_since = blamed.judgement, blamed.reason[:500], None


def _alert_reading(session: MonitoringSession, alert: Alert, *, position: int, now: datetime) -> SignalReading:
    """An Alertmanager alert that fired during the window, as a degraded signal (its evidence: when, and what)."""
    name = alert.name or alert.fingerprint
    state = "still firing" if alert.ends_at is None or alert.ends_at > now else f"resolved at {alert.ends_at:%H:%M}"
    said = f": {alert.summary}" if alert.summary and alert.summary != name else ""
    return SignalReading(
        session=session,
        signal=f"Alert {name}"[:100],
        source=SignalReading.Source.ALERTMANAGER,
        position=position,
        rule="any production alert firing during the window",
        judgement=Judgement.DEGRADED,
        reason=f"firing since {alert.starts_at:%H:%M} UTC, {state}{said}"[:500],
        degraded_since=alert.starts_at,
        read_at=now,
        judged_at=now,
    )


def _fields(reading: SignalReading) -> dict[str, Any]:
    names = [f.name for f in SignalReading._meta.concrete_fields if f.name not in ("id", "session", "signal")]
    return {name: getattr(reading, name) for name in names}


# -- one signal -------------------------------------------------------------------------------------------------
def _prometheus_read(
    session: MonitoringSession,
    query: dict[str, Any],
    previous: SignalReading | None,
    sources: _Sources,
    *,
    position: int,
    now: datetime,
) -> SignalReading:
    repository, release = session.release.repository, session.release
    start, end = session.window_starts_at, min(now, session.window_ends_at)
    length = session.window_ends_at - session.window_starts_at
    unit = str(query.get("unit") or "")
    reading = _reading(session, str(query.get("name") or f"Query {position + 1}"), previous, position, now)
    reading.source, reading.unit = SignalReading.Source.PROMETHEUS, unit
    step = max(MIN_STEP_SECONDS, math.ceil(length.total_seconds() / POINTS_PER_SERIES))
    lookback = max(2 * step, MIN_RANGE_SECONDS)  # $window: a baseline point this close to the deploy counts its samples
    try:
        rule = rule_parse(str(query.get("rule") or ""))
        reading.rule = rule.words(unit)
        text = query_fill(
            str(query.get("query") or ""),
            environment=repository.production_environment,
            sha=release.sha,
            window=f"{lookback}s",
        )
    except (ValueError, KeyError) as exc:  # a setting written past the form (the Django admin)
        return _failed(reading, previous, f"The query's settings cannot be used: {exc}")
    baseline_seconds = int(length.total_seconds())
    try:
        window = sources.series(repository.prometheus_url, text, start=start, end=end, step=step)
        same = previous and previous.query == text and previous.baseline_seconds == baseline_seconds
        if same and previous and previous.baseline_points:
            baseline = [(start.timestamp() + at, value) for at, value in previous.baseline_points]
        else:
            baseline = sources.series(repository.prometheus_url, text, start=start - length, end=start, step=step)
    except SignalReadError as exc:
        return _failed(reading, previous, str(exc))
    judged = series_judge(
        window=window,
        baseline=baseline,
        rule=rule,
        unit=unit,
        baseline_minutes=round(baseline_seconds / 60),
        lookback_seconds=lookback,
    )
    reading.query = text
    reading.window_points = _compact(window, start)
    reading.baseline_points = _compact(baseline, start)
    reading.baseline_seconds = baseline_seconds if baseline else 0
    return _judged(reading, judged)


def _sentry_read(
    session: MonitoringSession, previous: SignalReading | None, sources: _Sources, *, position: int, now: datetime
) -> SignalReading:
    repository = session.release.repository
    reading = _reading(session, SENTRY_SIGNAL, previous, position, now)
    reading.source, reading.unit = SignalReading.Source.SENTRY, "issues"
    reading.rule = f"a new or regressed issue with more than {repository.sentry_issue_events} events"
    try:
        issues = sources.issues(
            repository.sentry_organization,
            repository.sentry_project,
            repository.sentry_environment or repository.production_environment,
            since=session.window_starts_at,
            now=min(now, session.window_ends_at) if now > session.window_ends_at else now,
        )
    except SignalReadError as exc:
        return _failed(reading, previous, str(exc))
    judged, kept = issues_judge(issues, since=session.window_starts_at, more_than=repository.sentry_issue_events)
    reading.issues = kept[:20]
    return _judged(reading, judged)


def _reading(
    session: MonitoringSession, signal: str, previous: SignalReading | None, position: int, now: datetime
) -> SignalReading:
    """This read's row: the previous one's series and counts carried, to be judged anew."""
    if previous is None:
        return SignalReading(session=session, signal=signal, position=position, read_at=now, judgement="", reason="")
    previous.position, previous.read_at = position, now
    return previous


def _judged(reading: SignalReading, judged: Judged) -> SignalReading:
    reading.judgement, reading.reason = judged.judgement, judged.reason[:500]
    reading.value, reading.baseline, reading.threshold = judged.value, judged.baseline, judged.threshold
    reading.degraded_since = judged.degraded_since
    reading.errors, reading.last_error, reading.judged_at = 0, "", reading.read_at
    return reading


def _failed(reading: SignalReading, previous: SignalReading | None, error: str) -> SignalReading:
    """A read that failed: Argo Rollouts' rule (monitoring.verdicts.after_error)."""
    errors = (previous.errors if previous else 0) + 1
    standing = None
    if previous is not None and previous.judged_at is not None:  # the judgement of the last read that succeeded
        standing = Judged(
            previous.judgement,
            previous.reason,
            previous.value,
            previous.baseline,
            previous.threshold,
            previous.degraded_since,
        )
    judged = after_error(previous=standing, errors=errors, error=error)
    reading.judgement, reading.reason = judged.judgement, judged.reason[:500]
    reading.errors, reading.last_error = errors, error[:300]
    logger.info("watch %s: %s could not be read (%s in a row): %s", reading.session_id, reading.signal, errors, error)
    return reading


def _compact(points: list[Point], origin: datetime) -> list[list[float]]:
    """[[whole seconds from the deploy, value to 6 significant digits], …]."""
    zero = origin.timestamp()
    return [[round(at - zero), float(f"{value:.6g}")] for at, value in points]


# -- telling ----------------------------------------------------------------------------------------------------
def _tell_owner_once(
    session: MonitoringSession, verdict: WatchVerdict, on_degraded: DegradedHook, *, now: datetime
) -> None:
    if WatchVerdict.objects.filter(pk=verdict.pk, owner_told_at__isnull=True).update(owner_told_at=now):
        verdict.owner_told_at = now
        logger.info("watch %s degraded: its owner is told", session.pk)
        on_degraded(session, verdict)


def watches_degraded_escalate(*, on_escalate: EscalationHook, now: datetime | None = None) -> int:
    """On-call is told of each watch still degraded and open MONITORING_ESCALATION_MINUTES after its owner was told
    (once: claimed with a conditional UPDATE; `on_escalate(session, verdict, on_call)` runs in the claim's
    transaction). Returns how many were told."""
    now = now or timezone.now()
    escalate = timedelta(minutes=settings.MONITORING_ESCALATION_MINUTES)
    due = WatchVerdict.objects.filter(
        verdict=Judgement.DEGRADED,
        on_call_told_at__isnull=True,
        owner_told_at__lte=now - escalate,
        session__signed_off_at__isnull=True,
    ).select_related("session", "session__release", "session__release__repository", "session__owner")
    told, person = 0, None
    for verdict in due:
        with transaction.atomic():
            if WatchVerdict.objects.filter(pk=verdict.pk, on_call_told_at__isnull=True).update(on_call_told_at=now):
                told += 1
                person = person or on_call_now(now)
                logger.info("watch %s still degraded: on-call is told", verdict.session_id)
                on_escalate(verdict.session, verdict, person.developer if person else None)
    return told


# -- the sources, read once per run -----------------------------------------------------------------------------
class _Sources:
    """The clients of one run, and what they answered: watches of one release read its series once."""

    def __init__(self) -> None:
        self._prometheus: dict[str, PrometheusClient] = {}
        self._sentry: SentryClient | None = None
        self._answers: dict[tuple[Any, ...], Any] = {}

    def series(self, url: str, query: str, *, start: datetime, end: datetime, step: int) -> list[Point]:
        key = ("prometheus", url, query, start, end, step)
        if key not in self._answers:
            client = self._prometheus.setdefault(url, PrometheusClient.from_settings(url))
            self._answers[key] = _answer(lambda: client.query_range(query, start=start, end=end, step=step))
        return _given(self._answers[key])

    def issues(
        self, organization: str, project: str, environment: str, *, since: datetime, now: datetime
    ) -> list[SentryIssue]:
        key = ("sentry", organization, project, environment, since)
        if key not in self._answers:

            def read() -> list[SentryIssue]:
                self._sentry = self._sentry or SentryClient.from_settings()
                return self._sentry.issues(
                    organization=organization, project=project, environment=environment, since=since, now=now
                )

            self._answers[key] = _answer(read)
        return _given(self._answers[key])

    def close(self) -> None:
        for client in self._prometheus.values():
            client.close()
        if self._sentry is not None:
            self._sentry.close()


def _answer(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except SignalReadError as exc:
        return exc


def _given(answer: Any) -> Any:
    if isinstance(answer, SignalReadError):
        raise answer
    return answer
