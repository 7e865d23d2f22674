"""Alertmanager's webhook credentials and Slack as the notifications tests have it; the watch's signal sources,
for real: Debian's Prometheus with a backfilled history, the Sentry stand-in; and a watch of a release deployed ten
minutes ago, in a repository that reads them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from delivery.flows.watches import watches_open
from delivery.github.models import Repository
from delivery.monitoring.models import MonitoringSession
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.monitoring.alerting import TOKEN
from tests.monitoring.prometheus_server import Phase, RealPrometheus, openmetrics
from tests.notifications.conftest import _no_slack, slack_api, slack_server  # noqa: F401 - fixtures
from tests.rollbacks.helpers import release
from tools.sentry_server import SentryServer

NOW = float(int(time.time()) // 15 * 15)
"""When the backfilled history ends (this test process's start, on a 15 s boundary)."""
DEPLOY = NOW - 600
"""The watched release went live ten minutes before the history ends."""
BEFORE = 0.004
"""The error ratio before the deploy, and all along for a steady service."""
SERVICES = {
    "steady": [Phase(NOW - 7200, BEFORE)],
    "jump": [Phase(NOW - 7200, BEFORE), Phase(DEPLOY, 0.08)],
    "slow": [Phase(NOW - 7200, BEFORE, 0.2), Phase(DEPLOY, BEFORE, 0.8)],
    "fresh": [Phase(DEPLOY + 60, BEFORE)],  # reports only since a minute after the deploy: no baseline
    "already": [Phase(NOW - 7200, BEFORE), Phase(DEPLOY - 120, 0.08)],  # the release before made it jump
    "later": [Phase(NOW - 7200, BEFORE), Phase(DEPLOY + 300, 0.08)],  # jumps five minutes after the deploy
}
ERRORS = 'sum(rate(http_requests_total{service="%s",environment="$environment",code=~"5.."}[$window])) / sum(rate(http_requests_total{service="%s",environment="$environment"}[$window]))'  # noqa: E501
LATENCY = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="%s",environment="$environment"}[$window])))'  # noqa: E501


def queries(service: str) -> list[dict[str, str]]:
    """The default queries, for one service of the history."""
    return [
        {"name": "Error ratio", "unit": "ratio", "rule": "ratio", "query": ERRORS % (service, service)},
        {"name": "p95 latency", "unit": "s", "rule": "latency", "query": LATENCY % service},
    ]


def history(services: dict[str, list[Phase]], *, end: float = NOW) -> str:
    return openmetrics(services, start=NOW - 7200, end=end)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealPrometheus]:
    """One Prometheus for a test module, with two hours of every service's history."""
    server = RealPrometheus(tmp_path_factory.mktemp("prometheus"))
    server.backfill(history(SERVICES))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sentry() -> Iterator[SentryServer]:
    with SentryServer() as server:
        yield server


@pytest.fixture
def sentry_settings(sentry: SentryServer, settings: Any) -> SentryServer:
    settings.SENTRY_URL = sentry.url
    settings.SENTRY_TOKEN = sentry.token
    return sentry


@pytest.fixture(autouse=True)
def _signal_settings(settings: Any) -> None:
    settings.PROMETHEUS_BEARER_TOKEN = ""
    settings.PROMETHEUS_TIMEOUT_SECONDS = 3
    settings.SENTRY_TOKEN = ""
    settings.SENTRY_TIMEOUT_SECONDS = 3
    settings.MONITORING_ESCALATION_MINUTES = 15


WatchMaker = Callable[..., MonitoringSession]


@pytest.fixture
def watch(db: None) -> WatchMaker:
    """`watch(prometheus_url=…, service=…, **repository settings)`: olga's watch of a release deployed at DEPLOY in a
    repository reading that service."""

    def make(*, service: str = "steady", deployed: float = DEPLOY, **settings: Any) -> MonitoringSession:
        olga = member("olga").developer
        fields: dict[str, Any] = {"signal_queries": queries(service), **settings}
        repository: Repository = RepositoryFactory(owner="acme", name="api", full_name="acme/api", **fields)
        release(repository, "v1.2.0", at=datetime.fromtimestamp(deployed, UTC), owners=[olga])
        watches_open(repository_id=repository.pk, now=datetime.fromtimestamp(deployed, UTC) + timedelta(seconds=1))
        return MonitoringSession.objects.select_related("release__repository", "owner").get(owner=olga)

    return make


@pytest.fixture
def at_now() -> datetime:
    """The reading's `now`: the end of the backfilled history."""
    return datetime.fromtimestamp(NOW, UTC)


@pytest.fixture(autouse=True)
def _alertmanager_token(settings: Any) -> None:
    """The endpoint takes the tests' bearer token, and no basic-auth pair, unless a test says otherwise."""
    settings.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN
    settings.ALERTMANAGER_WEBHOOK_USERNAME = ""
    settings.ALERTMANAGER_WEBHOOK_PASSWORD = ""
