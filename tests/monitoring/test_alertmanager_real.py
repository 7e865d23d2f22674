"""Trunkline behind a real Alertmanager: Alertmanager 0.25 (Debian's) posts its own webhook messages, with the bearer
token of its receiver's http_config, to the live server; a real Celery worker processes them. An alert posted to
Alertmanager's API while a release's watch is open becomes that release's incident, its resolution resolves it, and
the change failure rate counts the release as failed."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from delivery.flows.incidents import alerts_received
from delivery.flows.watches import watches_open
from delivery.metrics.figures import metrics
from delivery.metrics.scope import Scope
from delivery.monitoring.models import Alert, AlertDelivery, Incident, MonitoringSession
from delivery.notifications.models import Notification
from tests.conftest import log_path, member, wait_for
from tests.monitoring.alerting import TOKEN
from tests.monitoring.alertmanager_server import Alertmanager
from tests.rollbacks.helpers import history

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_alert_from_alertmanager_becomes_an_incident_of_the_watched_release_and_counts_as_a_failure(
    live_server: Any, celery_worker: subprocess.Popen[bytes], tmp_path: Path, settings: Any
) -> None:
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)  # v1.2 went live 10 minutes ago
    repo = made["repo"]
    repo.alert_matchers, repo.alert_production_matchers = 'service="api"', 'env="production"'
    repo.save()
    watches_open(repository_id=repo.pk)
    watch = MonitoringSession.objects.get(release=made["v1.2"], owner=olga.developer)
    assert watch.signed_off_at is None and watch.window_ends_at > timezone.now()  # the watch is open
    scope = Scope(timezone.localdate() - timedelta(days=3), timezone.localdate(), (repo,))
    assert metrics(scope)["change_failure_rate"]["failed"] == 1  # v1.1, failed before this test

    started = timezone.now() - timedelta(seconds=30)
    labels = {"alertname": "HighErrorRate", "service": "api", "env": "production", "severity": "page"}
    with Alertmanager(
        tmp_path, webhook_url=f"{live_server.url}/webhooks/alertmanager/", token=TOKEN, log=log_path("alertmanager.log")
    ) as alertmanager:
        alertmanager.post(labels, starts_at=started, summary="5xx above 2 % for 2 minutes")
        incident = wait_for(
            lambda: Incident.objects.filter(release=made["v1.2"]).first(), timeout=60, what="an incident"
        )
        assert abs(incident.started_at - started) < timedelta(milliseconds=1)  # Alertmanager's startsAt, kept
        assert incident.resolved_at is None
        fired = Alert.objects.get()
        assert (fired.name, fired.status, fired.repository, fired.production) == ("HighErrorRate", "firing", repo, True)
        assert len(fired.fingerprint) == 16  # Alertmanager's own fingerprint of the labels
        assert fired.annotations == {"summary": "5xx above 2 % for 2 minutes"}
        assert "HighErrorRate" in Notification.objects.get(kind="alert_firing").text
        assert metrics(scope)["change_failure_rate"]["failed"] == 2

        resolved_at = timezone.now()
        alertmanager.post(labels, starts_at=started, ends_at=resolved_at, summary="5xx above 2 % for 2 minutes")
        wait_for(
            lambda: Incident.objects.filter(pk=incident.pk, resolved_at__isnull=False).exists(),
            timeout=60,
            what="the incident resolved",
        )
        assert not alertmanager.webhook_failures()

    incident.refresh_from_db()
    assert abs(incident.resolved_at - resolved_at) < timedelta(milliseconds=1)
    assert Alert.objects.get().status == "resolved" and Alert.objects.count() == 1
    assert set(AlertDelivery.objects.values_list("outcome", flat=True)) == {"processed"}
    assert AlertDelivery.objects.filter(status="resolved").exists()
    assert Notification.objects.filter(kind="incident_resolved").count() == 1
    figures = metrics(scope)
    assert figures["change_failure_rate"]["failed"] == 2  # v1.2 once, with its incident
    assert figures["recovery_time"]["recoveries"] >= 1


def test_alertmanager_s_basic_auth_is_let_in_and_a_wrong_token_is_refused_and_nothing_stored(
    live_server: Any, tmp_path: Path, settings: Any
) -> None:
    settings.ALERTMANAGER_WEBHOOK_USERNAME, settings.ALERTMANAGER_WEBHOOK_PASSWORD = "alertmanager", "pa:ss word"
    url = f"{live_server.url}/webhooks/alertmanager/"
    labels = {"alertname": "DiskFull", "service": "nobody"}
    with Alertmanager(
        tmp_path / "wrong", webhook_url=url, token="not-the-token", log=log_path("am-wrong.log")
    ) as wrong:
        wrong.post(labels, starts_at=timezone.now())
        wait_for(wrong.webhook_failures, timeout=30, what="Alertmanager's failed notification")
        assert "401" in wrong.webhook_failures()[0]
    assert not AlertDelivery.objects.exists()

    with Alertmanager(
        tmp_path / "basic", webhook_url=url, basic=("alertmanager", "pa:ss word"), log=log_path("am-basic.log")
    ) as basic:
        basic.post(labels, starts_at=timezone.now())
        wait_for(lambda: AlertDelivery.objects.exists(), timeout=30, what="the delivery")
    assert alerts_received(delivery_id=AlertDelivery.objects.get().pk) == "processed"  # (no worker in this test)
    assert Alert.objects.get().repository is None  # kept, unmatched
