"""Alerts and incidents: an alert belongs to the repository its labels match; a production alert is an incident of
the release live when it started (moved when the release is learnt later); overlapping alerts are one incident;
owners and on-call are told once; an admin dismisses a false incident, audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.accounts.models import AuditEvent
from delivery.accounts.oncall import override_add
from delivery.flows.incidents import alerts_received, incidents_followed
from delivery.flows.watches import watch_signals_read, watches_open
from delivery.monitoring.alert_selectors import firing_alerts_between
from delivery.monitoring.models import Alert, Incident, MonitoringSession, SignalReading, WatchVerdict
from delivery.notifications.models import Notification
from tests.concurrency import at_once
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.monitoring.alerting import alert, deliver, message, post
from tests.rollbacks.helpers import history, release

pytestmark = pytest.mark.django_db


def api_alert(name: str = "HighErrorRate", env: str = "production", **labels: str) -> dict[str, str]:
    return {"alertname": name, "service": "api", "env": env, **labels}


@pytest.fixture
def team() -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)  # v1.0 two days ago, v1.1 yesterday (failed), v1.2 10 min ago
    made["repo"].alert_matchers = 'service="api"'
    made["repo"].alert_production_matchers = 'env="production"'
    made["repo"].save()
    ona = member("ona", role="on-call")
    override_add(
        developer=ona.developer,
        starts_at=made["now"] - timedelta(days=3),
        ends_at=made["now"] + timedelta(days=1),
        actor=None,
    )
    return {"olga": olga, "pete": pete, "ona": ona, **made}


def test_an_alert_firing_after_a_release_is_its_incident_told_once_and_resolved(team: dict[str, Any]) -> None:
    started = team["now"] - timedelta(minutes=5)
    assert deliver(alert(api_alert(), starts_at=started, summary="5xx above 2 %")) == "processed"

    incident = Incident.objects.get()
    assert incident.release == team["v1.2"] and incident.started_at == started and incident.resolved_at is None
    assert incident.title == "HighErrorRate: 5xx above 2 %"
    told = Notification.objects.get(kind="alert_firing")
    assert "*HighErrorRate* is firing in production" in told.text and "acme/api v1.2" in told.text
    assert "Owners: olga, pete; on call: ona" in told.text and "5xx above 2 %" in told.text

    deliver(alert(api_alert(), starts_at=started, summary="5xx above 3 %"))  # Alertmanager's repeat: other bytes
    assert Notification.objects.filter(kind="alert_firing").count() == 1

    deliver(alert(api_alert(), starts_at=started, ends_at=started + timedelta(minutes=4)))
    incident.refresh_from_db()
    assert incident.resolved_at == started + timedelta(minutes=4)
    resolved = Notification.objects.get(kind="incident_resolved")
    assert "Incident resolved on *acme/api v1.2*" in resolved.text and "4 min" in resolved.text
    deliver(alert(api_alert(), starts_at=started, ends_at=started + timedelta(minutes=4), summary="again"))
    assert Notification.objects.filter(kind="incident_resolved").count() == 1


def test_an_alert_belongs_to_the_release_live_when_it_started(team: dict[str, Any]) -> None:
    deliver(alert(api_alert("Slow"), starts_at=team["v1.1"].deployed_at + timedelta(hours=3)))  # after the window
    deliver(alert(api_alert("Old"), starts_at=team["v1.0"].deployed_at - timedelta(hours=1)))  # before any release
    assert Incident.objects.get().release == team["v1.1"]  # until the next release, v1.2, went live
    assert Alert.objects.get(name="Old").incident is None


def test_an_alert_heard_before_its_release_moves_to_it_when_the_release_is_learnt(team: dict[str, Any]) -> None:
    started = team["now"] - timedelta(minutes=2)
    deliver(alert(api_alert(), starts_at=started))
    assert Incident.objects.get().release == team["v1.2"]

    # The deployment that was live when the alert started reaches Trunkline later (webhooks were down).
    v13 = release(team["repo"], "v1.3", at=team["now"] - timedelta(minutes=4), owners=[team["olga"].developer])
    incidents_followed(repository_id=team["repo"].pk)

    incident = Incident.objects.get()  # the mistaken one is gone, not left as a failure of v1.2
    assert incident.release == v13 and incident.started_at == started
    assert Notification.objects.filter(kind="alert_firing").count() == 1  # told once, when it fired


def test_overlapping_alerts_are_one_incident_and_a_later_one_another(team: dict[str, Any]) -> None:
    t = team["v1.1"].deployed_at
    deliver(
        alert(api_alert(instance="a"), starts_at=t + timedelta(minutes=5), ends_at=t + timedelta(minutes=20)),
        alert(api_alert(instance="b"), starts_at=t + timedelta(minutes=8), ends_at=t + timedelta(minutes=25)),
    )
    deliver(alert(api_alert(instance="c"), starts_at=t + timedelta(minutes=24), ends_at=t + timedelta(minutes=30)))
    deliver(alert(api_alert(instance="a"), starts_at=t + timedelta(hours=2)))  # fired again, later

    first, second = Incident.objects.filter(release=team["v1.1"]).order_by("started_at")
    assert (first.started_at, first.resolved_at) == (t + timedelta(minutes=5), t + timedelta(minutes=30))
    assert first.alerts.count() == 3
    assert (second.started_at, second.resolved_at) == (t + timedelta(hours=2), None)


def test_other_environments_and_unmatched_alerts_make_no_incident_and_are_kept(team: dict[str, Any]) -> None:
    started = team["now"] - timedelta(minutes=3)
    deliver(
        alert(api_alert(env="staging"), starts_at=started),
        alert({"alertname": "DiskFull", "service": "warehouse"}, starts_at=started),
    )
    staging, unmatched = Alert.objects.get(labels__env="staging"), Alert.objects.get(name="DiskFull")
    assert (staging.repository, staging.production, staging.incident) == (team["repo"], False, None)
    assert (unmatched.repository, unmatched.incident) == (None, None)
    assert not Incident.objects.exists() and not Notification.objects.filter(kind="alert_firing").exists()


def test_the_most_specific_repository_claims_an_alert(team: dict[str, Any]) -> None:
    RepositoryFactory(full_name="acme/api-eu", alert_matchers='service="api", region="eu"')
    RepositoryFactory(full_name="acme/unfollowed", alert_matchers='service="api", region="eu", x!="y"', is_active=False)
    deliver(alert(api_alert(region="eu"), starts_at=team["now"]), alert(api_alert(region="us"), starts_at=team["now"]))
    owners = dict(Alert.objects.values_list("labels__region", "repository__full_name"))
    assert owners == {"eu": "acme/api-eu", "us": "acme/api"}


def test_admins_list_every_alert_and_the_unmatched_ones_in_a_fixed_number_of_queries(team: dict[str, Any]) -> None:
    admin, developer = Client(), Client()
    admin.force_login(member("ada", role="admin"))
    developer.force_login(team["olga"])
    assert developer.get(reverse("alerts")).status_code == 403
    counts = []
    for n in (1, 12):
        deliver(*(alert({"alertname": f"Lost{n}-{i}", "service": "nobody"}, starts_at=team["now"]) for i in range(n)))
        deliver(*(alert(api_alert(f"Mine{n}-{i}"), starts_at=team["now"]) for i in range(n)))
        with CaptureQueriesContext(connection) as queries:
            page = admin.get(reverse("alerts"), {"unmatched": "1"}).content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert "Lost12-3" in page and "Mine12-3" not in page and "unmatched" in page
    assert "Mine12-3" in admin.get(reverse("alerts")).content.decode()


def test_an_admin_dismisses_a_false_incident_with_a_reason(team: dict[str, Any]) -> None:
    deliver(alert(api_alert(), starts_at=team["now"] - timedelta(minutes=5)))
    incident = Incident.objects.get()
    url = reverse("incident-dismiss", args=[incident.pk])
    admin, developer = Client(), Client()
    admin.force_login(member("ada", role="admin"))
    developer.force_login(team["olga"])

    assert developer.post(url, {"reason": "flapping probe"}).status_code == 403
    refused = admin.post(url, {"reason": "  "})
    assert refused.status_code == 400 and "Say why this was not a failure" in refused.content.decode()
    assert admin.post(url, {"reason": "flapping probe"}).status_code == 302
    assert admin.post(url, {"reason": "twice"}).status_code == 302  # a double click: dismissed once

    incident.refresh_from_db()
    assert incident.dismissed_reason == "flapping probe" and incident.dismissed_by.get_username() == "ada"
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.RELEASE_FAILURE_DISMISSED)
    assert (event.target_type, event.target_id) == ("incident", str(incident.pk)) and "flapping probe" in event.summary
    # A dismissed incident's alerts are no evidence of anything (a watch's verdict reads these).
    assert (
        firing_alerts_between(repository_id=team["repo"].pk, start=team["now"] - timedelta(hours=1), end=team["now"])
        == []
    )
    # Its resolution is told to nobody: it was not a failure.
    deliver(alert(api_alert(), starts_at=team["now"] - timedelta(minutes=5), ends_at=team["now"]))
    incident.refresh_from_db()
    assert incident.resolved_at == team["now"]
    assert not Notification.objects.filter(kind="incident_resolved").exists()


def test_what_fired_during_a_window_is_what_started_before_its_end_and_ended_after_its_start(
    team: dict[str, Any],
) -> None:
    t = team["now"] - timedelta(hours=3)
    deliver(
        alert(api_alert("Before"), starts_at=t - timedelta(minutes=30), ends_at=t - timedelta(minutes=1)),
        alert(api_alert("Across"), starts_at=t - timedelta(minutes=30), ends_at=t + timedelta(minutes=1)),
        alert(api_alert("Within"), starts_at=t + timedelta(minutes=5), ends_at=t + timedelta(minutes=6)),
        alert(api_alert("StillFiring"), starts_at=t + timedelta(minutes=20)),
        alert(api_alert("After"), starts_at=t + timedelta(minutes=31)),
        alert(api_alert("Staging", env="staging"), starts_at=t + timedelta(minutes=5)),
    )
    found = firing_alerts_between(repository_id=team["repo"].pk, start=t, end=t + timedelta(minutes=30))
    assert [a.name for a in found] == ["Across", "Within", "StillFiring"]


@pytest.mark.django_db(transaction=True)
def test_copies_of_one_delivery_processed_at_once_apply_it_once(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers")
    olga = member("olga")
    made = history(olga.developer, member("pete").developer)
    made["repo"].alert_matchers = 'service="api"'
    made["repo"].save()
    pk = post(message(alert(api_alert(), starts_at=made["now"] - timedelta(minutes=1)))).json()["delivery"]

    outcomes = at_once(lambda: alerts_received(delivery_id=pk), threads=4)

    assert sorted(outcomes) == ["processed", "skipped", "skipped", "skipped"]
    assert Alert.objects.count() == Incident.objects.count() == 1
    assert Notification.objects.filter(kind="alert_firing").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_alert_processed_at_once_make_one_alert_and_one_incident() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers")
    made = history(member("olga").developer, member("pete").developer)
    made["repo"].alert_matchers = 'service="api"'
    made["repo"].save()
    started = made["now"] - timedelta(minutes=1)
    ids = [
        post(message(alert(api_alert(), starts_at=started, summary=f"copy {i}"), receiver=f"am-{i}")).json()["delivery"]
        for i in range(4)
    ]
    pending = list(ids)

    def process() -> str:
        return alerts_received(delivery_id=pending.pop())

    assert at_once(process, threads=4) == ["processed"] * 4
    assert Alert.objects.count() == Incident.objects.count() == 1
    assert Notification.objects.filter(kind="alert_firing").count() == 1


def test_an_alert_firing_during_a_watch_makes_its_verdict_degraded_with_the_alert_as_evidence(
    team: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    watches_open(repository_id=team["repo"].pk)  # v1.2, live ten minutes ago, is being watched
    watch = MonitoringSession.objects.get(release=team["v1.2"], owner=team["olga"].developer)
    assert watch_signals_read() == 2  # olga's and pete's, only alerts to read: nothing fired yet
    assert WatchVerdict.objects.get(session=watch).verdict == ""

    started = team["now"] - timedelta(minutes=3)
    deliver(alert(api_alert(), starts_at=started, summary="5xx above 2 %"))
    deliver(alert(api_alert(env="staging", name="Other"), starts_at=started))  # not production: not counted
    with django_capture_on_commit_callbacks(execute=True):
        watch_signals_read()

    verdict = WatchVerdict.objects.get(session=watch)
    assert verdict.verdict == "degraded" and verdict.degraded_since == started
    [reading] = SignalReading.objects.filter(session=watch)
    assert (reading.signal, reading.source, reading.judgement) == ("Alert HighErrorRate", "alertmanager", "degraded")
    assert f"firing since {started:%H:%M} UTC, still firing: 5xx above 2 %" == reading.reason
    assert Notification.objects.filter(kind="watch_degraded_owner").count() == 2  # each owner, once
    page = Client()
    page.force_login(team["olga"])
    assert (
        "Alertmanager: degraded by any production alert firing during the window"
        in page.get(reverse("watch", args=[watch.pk])).content.decode()
    )
