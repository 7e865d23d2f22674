"""The watch reads a real Prometheus (Debian's, with a backfilled history): a deploy that makes the error ratio jump
is degraded at the first read, with its evidence, its series stored and its owner told; Prometheus down, a query
with no data or no baseline, are inconclusive and never healthy; failed reads follow Argo Rollouts' rule."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from delivery.core.processes import free_port
from delivery.core.queue import task_queue
from delivery.flows.requests import WATCH_SIGNALS_READ
from delivery.flows.watches import watch_signals_read
from delivery.monitoring.models import SignalReading, WatchVerdict
from delivery.monitoring.verdicts import ERRORS_BEFORE_INCONCLUSIVE, clock
from delivery.notifications.models import Notification
from delivery.notifications.service import WATCH_DEGRADED_OWNER
from tests.conftest import wait_for
from tests.factories import DeploymentFactory
from tests.monitoring.conftest import BEFORE, DEPLOY, NOW, SERVICES, WatchMaker, history, queries
from tests.monitoring.prometheus_server import RealPrometheus, p95

pytestmark = pytest.mark.django_db


def _readings(session: Any) -> dict[str, SignalReading]:
    return {r.signal: r for r in SignalReading.objects.filter(session=session)}


def test_a_deploy_that_makes_the_error_ratio_jump_is_degraded_at_the_first_read(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="jump", prometheus_url=prometheus.url)
    assert watch_signals_read(now=at_now) == 1
    verdict = WatchVerdict.objects.get(session=session)
    assert verdict.verdict == "degraded"
    errors = _readings(session)["Error ratio"]
    assert errors.judgement == "degraded" and errors.errors == 0
    assert errors.baseline == pytest.approx(BEFORE, rel=0.05)
    assert errors.value == pytest.approx(0.08, rel=0.05)
    assert errors.threshold == pytest.approx(BEFORE + 0.01, rel=0.05)  # max(2 × 0.4 %, 0.4 % + 1 pp)
    # since the first point above the threshold: within a step or two of the deploy (rate() looks back a minute)
    assert errors.degraded_since is not None
    assert DEPLOY <= errors.degraded_since.timestamp() <= DEPLOY + 90
    assert "8.0 % since" in errors.reason and "20.0 × the 0.4 % before the deploy" in errors.reason
    assert "degraded above max(2 × baseline, baseline + 1 pp): 1.4 %" in errors.reason
    # the series, compacted: seconds from the deploy and values, the window after it and the baseline before it
    assert errors.window_points[0][0] == 0 and errors.window_points[-1][0] == 600
    assert all(-1800 <= at <= 0 for at, _ in errors.baseline_points) and len(errors.baseline_points) == 61
    assert errors.baseline_seconds == 1800
    latency = _readings(session)["p95 latency"]
    assert latency.judgement == "healthy" and latency.value == pytest.approx(p95(0.2), rel=0.01)
    # the verdict's evidence, and the owner told at once with it and the rollback link
    assert verdict.summary.startswith("Error ratio: 8.0 % since")
    assert verdict.degraded_since == errors.degraded_since and verdict.owner_told_at == at_now
    notice = Notification.objects.get(kind=WATCH_DEGRADED_OWNER)
    assert "production got worse after *acme/api v1.2.0*: Error ratio: 8.0 % since" in notice.text
    assert f"/monitoring/{session.pk}/|The watch>" in notice.text
    assert f"/releases/{session.release_id}/rollback/|Roll back…>" in notice.text
    # a second read judges again and tells no one again
    assert watch_signals_read(now=at_now + timedelta(seconds=30)) == 1
    assert Notification.objects.filter(kind=WATCH_DEGRADED_OWNER).count() == 1


def test_a_steady_service_is_healthy_on_every_signal(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="steady", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    verdict = WatchVerdict.objects.get(session=session)
    assert verdict.verdict == "healthy" and verdict.summary == "Every signal within its rule (2)"
    assert verdict.owner_told_at is None and not Notification.objects.filter(kind=WATCH_DEGRADED_OWNER).exists()
    readings = _readings(session)
    assert readings["Error ratio"].reason == (
        "0.4 % now, 0.4 % before the deploy (degraded above max(2 × baseline, baseline + 1 pp): 1.4 %)"
    )
    assert [e["judgement"] for e in verdict.evidence] == ["healthy", "healthy"]


def test_a_latency_that_grows_past_one_and_a_half_times_the_baseline_is_degraded(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="slow", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    latency = _readings(session)["p95 latency"]
    assert latency.judgement == "degraded"
    assert latency.value == pytest.approx(p95(0.8), rel=0.01) and latency.baseline == pytest.approx(p95(0.2), rel=0.01)
    assert "780 ms since" in latency.reason and "4.0 × the 195 ms before the deploy" in latency.reason
    assert _readings(session)["Error ratio"].judgement == "healthy"
    assert WatchVerdict.objects.get(session=session).verdict == "degraded"


def test_a_series_already_above_its_limit_before_the_deploy_is_inconclusive_not_this_release_s_doing(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="already", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    errors = _readings(session)["Error ratio"]
    assert errors.judgement == "inconclusive" and errors.degraded_since is None
    words = r"already above its limit before this deploy \(since (\d\d:\d\d)\): not this release's doing"
    started = re.search(words, errors.reason)
    assert started, errors.reason
    assert started[1] in {clock(datetime.fromtimestamp(DEPLOY - s, UTC)) for s in range(60, 121)}
    verdict = WatchVerdict.objects.get(session=session)
    assert verdict.verdict == "inconclusive" and verdict.owner_told_at is None
    assert not Notification.objects.filter(kind=WATCH_DEGRADED_OWNER).exists()


def test_a_degradation_that_starts_after_the_next_production_deploy_belongs_to_that_deploy(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="later", prometheus_url=prometheus.url)
    repository = session.release.repository
    next_at = datetime.fromtimestamp(DEPLOY + 240, UTC)
    DeploymentFactory(repository=repository, environment="staging", ref="v1.30.10", created_at=next_at)
    DeploymentFactory(repository=repository, ref="v1.30.12", created_at=next_at + timedelta(minutes=3))
    watch_signals_read(now=at_now)  # the next production deploy came after the jump began: the jump is this release's
    assert _readings(session)["Error ratio"].judgement == "degraded"
    assert WatchVerdict.objects.get(session=session).verdict == "degraded"
    DeploymentFactory(repository=repository, ref="v1.30.11", created_at=next_at, state="failure")
    watch_signals_read(now=at_now + timedelta(seconds=1))
    errors = _readings(session)["Error ratio"]
    assert errors.judgement == "inconclusive" and errors.degraded_since is None
    assert errors.reason.startswith(f"got worse after the deploy of v1.30.11 at {clock(next_at)}, not this release (")
    verdict = WatchVerdict.objects.get(session=session)
    assert verdict.verdict == "inconclusive" and verdict.degraded_since is None


def test_a_query_with_no_data_is_inconclusive_never_healthy(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="nobody", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    readings = _readings(session)
    assert {r.judgement for r in readings.values()} == {"inconclusive"}
    assert readings["Error ratio"].reason.startswith("No data since the deploy: the query gives no series")
    assert readings["Error ratio"].errors == 0  # no data is an answer, not a failed read
    verdict = WatchVerdict.objects.get(session=session)
    assert verdict.verdict == "inconclusive" and verdict.summary.startswith("Error ratio: No data since the deploy")


def test_a_service_with_no_history_before_the_deploy_has_no_baseline_and_is_inconclusive(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="fresh", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    errors = _readings(session)["Error ratio"]
    assert errors.judgement == "inconclusive"
    assert errors.reason == "No data in the 30 min before the deploy: no baseline to judge 0.4 % against"
    assert errors.window_points and not errors.baseline_points


def test_prometheus_down_is_inconclusive_and_stays_so_after_four_failed_reads(
    watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="steady", prometheus_url=f"http://127.0.0.1:{free_port()}")
    for n in range(1, ERRORS_BEFORE_INCONCLUSIVE + 3):
        watch_signals_read(now=at_now + timedelta(seconds=n))
        readings = _readings(session)
        assert {r.judgement for r in readings.values()} == {"inconclusive"}, n
        assert readings["Error ratio"].errors == n
        assert readings["Error ratio"].reason.startswith("Prometheus is not reachable (ConnectionError)")
        verdict = WatchVerdict.objects.get(session=session)
        assert verdict.verdict == "inconclusive"
        assert verdict.evidence[0]["note"] == ""  # no judgement stands on a read before: the failure is the reason


def test_a_healthy_watch_whose_prometheus_stops_stays_judged_for_three_reads_then_is_inconclusive(
    tmp_path: Any, watch: WatchMaker, at_now: datetime
) -> None:
    server = RealPrometheus(tmp_path)
    server.backfill(history({"steady": SERVICES["steady"]}))
    server.start()
    try:
        session = watch(service="steady", prometheus_url=server.url)
        watch_signals_read(now=at_now)
        assert WatchVerdict.objects.get(session=session).verdict == "healthy"
    finally:
        server.stop()
    for n in range(1, ERRORS_BEFORE_INCONCLUSIVE):
        watch_signals_read(now=at_now + timedelta(seconds=n))
        errors = _readings(session)["Error ratio"]
        assert errors.judgement == "healthy" and errors.errors == n  # Argo Rollouts: the last judgement stands
        verdict = WatchVerdict.objects.get(session=session)
        assert verdict.verdict == "healthy"
        assert verdict.evidence[0]["note"] == (
            f"The last read failed ({n} of 4 before inconclusive): Prometheus is not reachable (ConnectionError)"
        )
    watch_signals_read(now=at_now + timedelta(seconds=ERRORS_BEFORE_INCONCLUSIVE))
    errors = _readings(session)["Error ratio"]
    assert errors.judgement == "inconclusive" and errors.errors == ERRORS_BEFORE_INCONCLUSIVE
    assert errors.reason == "Prometheus is not reachable (ConnectionError) (4 reads in a row failed)"
    assert errors.window_points  # the series read before stay for the chart
    assert WatchVerdict.objects.get(session=session).verdict == "inconclusive"


def test_a_query_prometheus_cannot_parse_is_inconclusive_in_prometheus_s_words(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    broken = [{"name": "Broken", "unit": "ratio", "rule": "ratio", "query": "sum(rate(http_requests_total[$window]"}]
    session = watch(prometheus_url=prometheus.url, signal_queries=broken)
    watch_signals_read(now=at_now)
    reading = _readings(session)["Broken"]
    assert reading.judgement == "inconclusive"
    assert reading.reason.startswith("Prometheus answered 400: bad_data: ")


def test_a_query_that_gives_several_series_is_inconclusive_and_says_to_aggregate(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    several = [{"name": "Requests", "unit": "rps", "rule": ">1000", "query": "rate(http_requests_total[$window])"}]
    session = watch(prometheus_url=prometheus.url, signal_queries=several)
    watch_signals_read(now=at_now)
    reason = _readings(session)["Requests"].reason
    assert reason.startswith(f"The query gives {2 * len(SERVICES)} series; the watch judges one: aggregate it")


def test_a_watch_is_read_to_its_window_s_end_and_then_no_more(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="steady", prometheus_url=prometheus.url)
    after = session.window_ends_at + timedelta(minutes=1)
    assert watch_signals_read(now=after) == 1
    verdict = WatchVerdict.objects.get(session=session)
    assert verdict.read_until == session.window_ends_at
    assert watch_signals_read(now=after + timedelta(minutes=2)) == 0


def test_the_baseline_is_read_once_and_kept(prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime) -> None:
    session = watch(service="steady", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now - timedelta(minutes=2))
    first = _readings(session)["Error ratio"]
    SignalReading.objects.filter(pk=first.pk).update(baseline_points=[[-60, 0.001], [0, 0.001]])
    watch_signals_read(now=at_now)
    again = _readings(session)["Error ratio"]
    assert again.baseline_points == [[-60, 0.001], [0, 0.001]]  # not asked again: it cannot change
    assert again.baseline == pytest.approx(0.001) and again.window_points[-1][0] == NOW - DEPLOY
    assert 'service="steady",environment="production"' in again.query and "[60s]" in again.query
    # another query (the settings changed, or a release with another $sha joined): its own baseline is read
    session.release.repository.__class__.objects.update(signal_queries=queries("jump"))
    watch_signals_read(now=at_now + timedelta(seconds=1))
    changed = _readings(session)["Error ratio"]
    assert 'service="jump"' in changed.query and changed.baseline == pytest.approx(BEFORE, rel=0.05)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_s_task_reads_the_watch_in_a_real_worker(
    prometheus: RealPrometheus, watch: WatchMaker, celery_worker: subprocess.Popen[bytes], settings: Any
) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["watch-signals"]["task"] == WATCH_SIGNALS_READ
    session = watch(service="jump", prometheus_url=prometheus.url)
    assert task_queue(WATCH_SIGNALS_READ)
    verdict = wait_for(
        lambda: WatchVerdict.objects.filter(session=session, verdict="degraded").first(),
        what="the worker's reading of the watch",
    )
    assert verdict.owner_told_at is not None
    assert Notification.objects.filter(kind=WATCH_DEGRADED_OWNER, dedupe_key__endswith=f":{session.pk}").exists()
