"""Incidents in the figures (docs/design.md, "Metrics"): a production alert while a release was live fails it, once,
from the alert's startsAt; its resolution ends the recovery; a dismissed incident counts for nothing; the evidence
and the OpenAPI document say so; the figures read them in the same number of queries."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.flows.incidents import incidents_followed
from delivery.metrics.evidence import evidence
from delivery.metrics.figures import metrics
from delivery.metrics.openapi import document
from delivery.monitoring.incidents import incident_dismiss
from delivery.monitoring.models import Incident
from tests.conftest import member
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, History, at
from tests.monitoring.alerting import alert, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _alertmanager(settings: Any) -> None:
    settings.ALERTMANAGER_WEBHOOK_TOKEN = "test-alertmanager-token"


def _shipped(*minutes: float) -> tuple[History, list[Any]]:
    """A repository whose alerts with service="shop", env="production" are its own, with one release at each of
    `minutes` (each bringing one change)."""
    h = History(alert_matchers='service="shop"', alert_production_matchers='env="production"')
    dev = DeveloperFactory()
    deployments = []
    for i, minute in enumerate(minutes):
        h.merge(dev, opened=minute - 60, merged=minute - 30, first_commit=minute - 90)
        deployments.append(h.deploy("production", i + 1, minute))
    h.derive()
    return h, [h.release(d) for d in deployments]


def _fires(h: History, name: str, start: float, end: float | None = None, **labels: str) -> None:
    """Alertmanager delivers the alert (through the endpoint and the processing task's flow); the derivation's flow
    links it to the release live then (the history lies weeks back: past the delivery's own look back)."""
    deliver(
        alert(
            {"alertname": name, "service": "shop", "env": "production", **labels},
            starts_at=at(start),
            ends_at=None if end is None else at(end),
            summary=f"{name} summary",
        )
    )
    incidents_followed(repository_id=h.repo.pk, now=at(7 * DAY))


def _row(h: History, figure: str, release: Any) -> dict[str, Any]:
    return next(r for r in evidence(h.scope(), figure)["rows"] if r["url"] == f"/releases/{release.pk}/")


def test_an_incident_fails_its_release_once_from_its_start_and_its_resolution_ends_the_recovery() -> None:
    h, (first, second) = _shipped(100, 300)
    _fires(h, "HighErrorRate", 110, 130, instance="a")
    _fires(h, "HighErrorRate", 115, 140, instance="b")  # overlapping: the same incident
    _fires(h, "Latency", 200, 210)  # a second incident of the same release
    h.derive()

    figures = metrics(h.scope())
    assert figures["change_failure_rate"] | {"level": None, "score": None} == {
        "releases": 2,
        "failed": 1,
        "rate": 0.5,
        "level": None,
        "score": None,
    }
    assert figures["recovery_time"]["recoveries"] == 1
    assert figures["recovery_time"]["median_seconds"] == 30 * 60  # 110 → the first incident's end, 140
    assert figures["recovery_time"]["provisional"] is False

    failed = _row(h, "change_failure_rate", first)
    assert failed["failed"] and failed["why"] == "an alert fired: HighErrorRate: HighErrorRate summary"
    assert failed["failed_at"] == failed["incident_at"] == at(110).isoformat()
    recovered = _row(h, "recovery_time", first)
    assert recovered["recovered_by_incident"] and recovered["recovered_at"] == at(140).isoformat()
    assert recovered["recovered_by"] == f"/releases/{first.pk}/#incidents-title"
    assert not _row(h, "change_failure_rate", second)["failed"]


def test_an_incident_still_firing_leaves_its_failure_unrecovered() -> None:
    h, (first, _second) = _shipped(100, 300)
    _fires(h, "HighErrorRate", 110)
    recovery = metrics(h.scope())["recovery_time"]
    assert (recovery["recoveries"], recovery["unrecovered"]) == (0, 1)
    assert _row(h, "recovery_time", first)["recovered_by"] is None


def test_a_release_rolled_back_with_an_incident_counts_once_from_the_earlier_failure() -> None:
    h, (first, second, _third) = _shipped(100, 200, 300)
    h.fail(first.deployment, "Signed off: roll back (ana)", 140)
    _fires(h, "HighErrorRate", 120, 160)
    h.fail(second.deployment, "Signed off: roll back (ben)", 230)
    _fires(h, "Latency", 250, 260)  # started after the sign-off: the failure began at the sign-off

    assert metrics(h.scope())["change_failure_rate"]["failed"] == 2
    one, two = _row(h, "change_failure_rate", first), _row(h, "change_failure_rate", second)
    assert one["why"] == "Signed off: roll back (ana)" and one["failed_at"] == at(120).isoformat()
    assert two["failed_at"] == at(230).isoformat() and two["incident_at"] == at(250).isoformat()


def test_a_release_with_an_incident_is_no_recovery_of_an_earlier_failure() -> None:
    h, (first, second, third) = _shipped(100, 200, 300)
    h.fail(first.deployment, "fixed forward", 150)
    _fires(h, "HighErrorRate", 210, 220)

    assert _row(h, "recovery_time", first)["recovered_by"] == f"/releases/{third.pk}/"
    assert _row(h, "recovery_time", second)["recovered_by_incident"]


def test_a_dismissed_incident_counts_for_nothing_and_every_figure_follows() -> None:
    h, (first, _second) = _shipped(100, 300)
    _fires(h, "HighErrorRate", 110, 130)
    _fires(h, "Latency", 200, 230)
    admin = member("ada", role="admin")
    early, later = Incident.objects.order_by("started_at")

    incident_dismiss(incident=early, user=admin, reason="a flapping probe")
    row = _row(h, "change_failure_rate", first)
    assert row["failed_at"] == at(200).isoformat() and row["why"] == "an alert fired: Latency: Latency summary"
    assert metrics(h.scope())["recovery_time"]["median_seconds"] == 30 * 60

    incident_dismiss(incident=later, user=admin, reason="a test alert")
    figures = metrics(h.scope())
    assert figures["change_failure_rate"]["failed"] == 0
    assert figures["recovery_time"]["recoveries"] == figures["recovery_time"]["unrecovered"] == 0
    assert not _row(h, "change_failure_rate", first)["failed"]


def test_the_evidence_of_incidents_matches_the_openapi_document() -> None:
    h, _ = _shipped(100, 300)
    _fires(h, "HighErrorRate", 110, 130)
    schema = document()["components"]["schemas"]["Evidence"]
    for figure in ("change_failure_rate", "recovery_time"):
        body = evidence(h.scope(), figure)
        jsonschema.validate(body, schema)
        assert any(r["incident_at"] for r in body["rows"]), figure
    wrong = evidence(h.scope(), "recovery_time")
    wrong["rows"][0]["recovered_by_incident"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)


@pytest.mark.parametrize("incidents", [0, 12])
def test_incidents_take_no_query_of_their_own(incidents: int) -> None:
    h, _releases = _shipped(*(100 + 20 * i for i in range(12)))
    for i in range(incidents):
        _fires(h, f"Alert{i}", 105 + 20 * i, 110 + 20 * i)
    assert metrics(h.scope())["change_failure_rate"]["failed"] == incidents

    with CaptureQueriesContext(connection) as queries:
        metrics(h.scope())
        for figure in ("change_failure_rate", "recovery_time"):
            evidence(h.scope(), figure)
    assert len(queries) == 8 + 4, [q["sql"][:80] for q in queries]
