"""Where alerts show: the watch (what fired during its window), the release page (its incidents, dismissed by admins
there), the on-call page (what fires now, first), each in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.flows.watches import watches_open
from delivery.monitoring.models import Incident, MonitoringSession
from tests.conftest import member
from tests.monitoring.alerting import alert, deliver
from tests.rollbacks.helpers import history

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)  # v1.2 went live 10 minutes ago
    made["repo"].alert_matchers = 'service="api"'
    made["repo"].save()
    watches_open(repository_id=made["repo"].pk)
    return {"olga": olga, **made}


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _labels(name: str) -> dict[str, str]:
    return {"alertname": name, "service": "api"}


def test_the_watch_shows_the_alerts_of_its_window(team: dict[str, Any]) -> None:
    watch = MonitoringSession.objects.filter(release=team["v1.2"]).first()
    assert watch is not None
    page = _as(team["olga"]).get(reverse("watch", args=[watch.pk])).content.decode()
    assert "No alert fired in production during this window." in page

    deliver(
        alert(_labels("HighErrorRate"), starts_at=team["now"] - timedelta(minutes=4), summary="5xx above 2 %"),
        alert(
            _labels("Yesterday"), starts_at=team["now"] - timedelta(days=1), ends_at=team["now"] - timedelta(hours=20)
        ),
    )
    page = _as(team["olga"]).get(reverse("watch", args=[watch.pk])).content.decode()
    assert "HighErrorRate" in page and "5xx above 2 %" in page and "an incident of its release" in page
    assert "Yesterday" not in page


def test_a_watch_of_a_repository_without_matchers_says_how_to_read_alerts(team: dict[str, Any]) -> None:
    team["repo"].alert_matchers = ""
    team["repo"].save()
    watch = MonitoringSession.objects.filter(release=team["v1.2"]).first()
    assert watch is not None
    page = _as(team["olga"]).get(reverse("watch", args=[watch.pk])).content.decode()
    assert "No alerts are read for api" in page


def test_the_release_page_shows_its_incidents_and_admins_may_dismiss_them(team: dict[str, Any]) -> None:
    deliver(alert(_labels("HighErrorRate"), starts_at=team["now"] - timedelta(minutes=4), summary="5xx above 2 %"))
    incident = Incident.objects.get()
    url = reverse("release", args=[team["v1.2"].pk])
    developer_page = _as(team["olga"]).get(url).content.decode()
    admin = member("ada", role="admin")
    admin_page = _as(admin).get(url).content.decode()

    for page in (developer_page, admin_page):
        assert "Incidents" in page and "HighErrorRate: 5xx above 2 %" in page and "still firing" in page
    assert reverse("incident-dismiss", args=[incident.pk]) in admin_page
    assert reverse("incident-dismiss", args=[incident.pk]) not in developer_page

    _as(admin).post(reverse("incident-dismiss", args=[incident.pk]), {"reason": "a test alert"})
    page = _as(admin).get(url).content.decode()
    assert "“a test alert” — the metrics leave this incident out" in page
    assert reverse("incident-dismiss", args=[incident.pk]) not in page


def test_the_on_call_page_puts_a_repository_with_a_firing_alert_first(team: dict[str, Any]) -> None:
    client = _as(team["olga"])
    from tests.factories import RepositoryFactory

    RepositoryFactory(name="aaa", full_name="acme/aaa")  # calm, and first by name
    before = client.get(reverse("on-call")).context["rows"]
    deliver(alert(_labels("HighErrorRate"), starts_at=team["now"] - timedelta(minutes=4), summary="5xx above 2 %"))

    response = client.get(reverse("on-call"))
    rows, body = response.context["rows"], response.content.decode()
    assert [r.repository.name for r in rows][:1] == ["api"]
    assert [a.name for a in rows[0].alerts] == ["HighErrorRate"] and not rows[0].calm
    assert "Alert firing" in body and "Alert <strong>HighErrorRate</strong> firing since" in body
    assert "incident of v1.2" in body
    assert [r.repository.name for r in before] == ["api", "aaa"]  # open watches outrank calm, alert or not

    deliver(alert(_labels("HighErrorRate"), starts_at=team["now"] - timedelta(minutes=4), ends_at=team["now"]))
    assert "Alert firing" not in client.get(reverse("on-call")).content.decode()


def test_the_pages_read_alerts_in_a_fixed_number_of_queries(team: dict[str, Any]) -> None:
    watch = MonitoringSession.objects.filter(release=team["v1.2"]).first()
    assert watch is not None
    client = _as(member("ada", role="admin"))
    urls = [reverse("watch", args=[watch.pk]), reverse("release", args=[team["v1.2"].pk]), reverse("on-call")]
    counts: list[list[int]] = []
    for n in (1, 8):
        deliver(*(alert(_labels(f"Alert{n}-{i}"), starts_at=team["now"] - timedelta(minutes=n + i)) for i in range(n)))
        counts.append([])
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[-1].append(len(queries))
    assert counts[0] == counts[1], counts
