"""The watch page shows what production's signals read, from the stored readings: a chart of each signal (baseline
before the deploy, the window after it, the deploy marked, the threshold), the verdict and its evidence, in a number
of queries that does not grow with the signals; keeping a degraded release asks for a reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.flows.watches import watches_open
from delivery.monitoring.models import MonitoringSession, SignalReading, WatchVerdict
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.monitoring.helpers import readings_store
from tests.rollbacks.helpers import release

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga() -> Client:
    client = Client()
    client.force_login(member("olga"))
    return client


def _watch(**settings: Any) -> MonitoringSession:
    """Olga's watch (the `olga` fixture signed her in) of a release deployed ten minutes ago."""
    repository = RepositoryFactory(owner="acme", name="api", full_name="acme/api", **settings)
    deployed = timezone.now() - timedelta(minutes=10)
    release(repository, "v1.2.0", at=deployed, owners=[Developer.objects.get(login="olga")])
    watches_open(repository_id=repository.pk)
    return MonitoringSession.objects.get(owner__login="olga")


def test_the_page_draws_each_signal_with_the_verdict_and_its_evidence(olga: Client) -> None:
    session = _watch(prometheus_url="http://prom:9090")
    readings_store(session, 2)
    page = olga.get(reverse("watch", args=[session.pk])).content.decode()
    assert "Production got worse since" in page and "Error ratio: 8.0 % since 14:07" in page
    assert page.count('<polyline class="line line-baseline"') == 2
    assert page.count('<polyline class="line line-window is-degraded"') == 1
    assert page.count('<line class="deploy-mark" x1="360.0"') == 2
    assert '<rect class="degraded-span" x="384.0"' in page  # two minutes into a 30-minute window
    assert "<span>30 min before</span><span>deploy</span><span>30 min after</span>" in page
    assert "Before the deploy: 0.4 % (median). After it: 8.0 % now. Degraded above 1.4 %." in page
    assert reverse("rollback-new", args=[session.release_id]) in page
    assert "production reads degraded: keep needs a reason here" in page
    assert 'hx-trigger="every 30s"' in page  # read again while the window runs


def test_the_page_s_queries_do_not_grow_with_its_signals(olga: Client) -> None:
    session = _watch(prometheus_url="http://prom:9090")
    readings_store(session, 1)
    olga.get(reverse("watch", args=[session.pk]))
    with CaptureQueriesContext(connection) as one:
        olga.get(reverse("watch", args=[session.pk]))
    SignalReading.objects.all().delete()
    WatchVerdict.objects.all().delete()
    readings_store(session, 6)
    with CaptureQueriesContext(connection) as six:
        assert olga.get(reverse("watch", args=[session.pk])).status_code == 200
    assert len(six) == len(one), [q["sql"][:90] for q in six.captured_queries]


def test_htmx_s_refresh_gets_the_signals_alone(olga: Client) -> None:
    session = _watch(prometheus_url="http://prom:9090")
    readings_store(session, 1, degraded=False)
    response = olga.get(reverse("watch", args=[session.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="watch-signals"') and "<html" not in body
    assert "Every signal within its rule" in body


def test_a_watch_with_no_source_says_how_to_set_one(olga: Client) -> None:
    session = _watch()
    page = olga.get(reverse("watch", args=[session.pk])).content.decode()
    assert "No signals to read" in page and "an admin can set Prometheus or Sentry" in page
    type(session.release.repository).objects.update(prometheus_url="http://prom:9090")
    page = olga.get(reverse("watch", args=[session.pk])).content.decode()
    assert "The first read comes within 2 min" in page


def test_keep_with_a_degraded_verdict_is_refused_without_a_reason_over_http(olga: Client) -> None:
    session = _watch(prometheus_url="http://prom:9090")
    readings_store(session, 1)
    now = timezone.now()
    MonitoringSession.objects.filter(pk=session.pk).update(window_ends_at=now - timedelta(minutes=1))
    session.items.exclude(key="decision").update(checked_at=now)
    response = olga.post(reverse("watch", args=[session.pk]), {"decision": "keep", "notes": ""})
    assert response.status_code == 400
    assert "keeping it needs a reason in the notes" in response.content.decode()
    response = olga.post(reverse("watch", args=[session.pk]), {"decision": "keep", "notes": "A known spike"})
    assert response.status_code == 302
    page = olga.get(reverse("watch", args=[session.pk])).content.decode()
    assert "with production reading degraded" in page and "kept with the sign-off" in page
    assert 'hx-trigger="every 30s"' not in page


def test_the_release_page_shows_each_watch_s_verdict_and_the_one_kept_with_its_sign_off(olga: Client) -> None:
    session = _watch(prometheus_url="http://prom:9090")
    readings_store(session, 1)
    page = olga.get(reverse("release", args=[session.release_id])).content.decode()
    assert '<span class="badge badge-bad">production degraded</span>' in page
    assert "Error ratio: 8.0 % since 14:07" in page
    MonitoringSession.objects.filter(pk=session.pk).update(
        signed_off_at=timezone.now(),
        decision="keep",
        notes="A known spike",
        signed_off_verdict="degraded",
        signed_off_evidence=[{"signal": "Error ratio", "judgement": "degraded", "reason": "8.0 % at sign-off"}],
    )
    WatchVerdict.objects.update(verdict="healthy", summary="later")  # what the sign-off kept is shown, not this
    page = olga.get(reverse("release", args=[session.release_id])).content.decode()
    assert "production degraded" in page and "Error ratio: 8.0 % at sign-off" in page and "later" not in page


def test_the_owner_of_a_watch_who_may_not_roll_back_the_live_release_is_offered_no_rollback(olga: Client) -> None:
    """Olga owns the watch of v1.2.0, but pete's v1.3.0 is live now: a developer may roll back only a live release
    they own, so the watch page offers her no button the rollback would refuse (with a 403 and its reason)."""
    session = _watch()
    WatchVerdict.objects.create(session=session, verdict="degraded", summary="5xx up")
    assert "Roll back…" in olga.get(reverse("watch", args=[session.pk])).content.decode()
    pete = member("pete").developer
    release(session.release.repository, "v1.3.0", at=timezone.now() - timedelta(minutes=1), owners=[pete])
    body = olga.get(reverse("watch", args=[session.pk])).content.decode()
    assert "Roll back…" not in body and reverse("rollback-new", args=[session.release_id]) not in body
    refused = olga.get(reverse("rollback-new", args=[session.release_id]), headers={"HX-Request": "true"})
    assert refused.status_code == 403 and "Your role does not allow rolling back the release that is live." in (
        refused.content.decode()
    )
    on_call = Client()
    on_call.force_login(member("ona", role="on-call"))
    assert "Roll back…" in on_call.get(reverse("watch", args=[session.pk])).content.decode()
