"""The metrics page and API keep what they computed under the figures' stamp: asked again, they read it back in a
few queries; once something the figures count is written (a derivation, a sign-off, a corrected record, a rollback),
the next answer is computed again. Another scope is never answered with this one's figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from delivery.core.stamps import FIGURES, stamp
from delivery.flows.changes import repositories_changed, repository_changed
from delivery.github.models import Deployment
from tests.conftest import member
from tests.metrics.history import DAY, WEEK, History, at

pytestmark = pytest.mark.django_db
PERIOD = {"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat()}


@pytest.fixture(autouse=True)
def cached() -> Iterator[None]:
    cache.clear()
    with override_settings(METRICS_CACHE_SECONDS=300):
        yield
    cache.clear()


@pytest.fixture
def shipped() -> tuple[History, list[Deployment]]:
    h = History()
    ana = member("ana").developer
    for i in range(3):
        h.merge(ana, opened=i * 60, merged=i * 60 + 30, first_commit=i * 60 - 10)
    deployments = [h.deploy("production", i + 1, i * 60 + 40) for i in range(3)]
    h.derive()
    return h, deployments


def admin() -> Client:
    client = Client()
    client.force_login(member("boss", role="admin"))
    return client


def same(content: bytes) -> str:
    """A page without what differs per request (its script nonce, its CSRF token)."""
    return re.sub(r'"[A-Za-z0-9+/=_-]{32,}"', "", content.decode())


def failed(client: Client) -> Any:
    return client.get("/api/v1/metrics/", PERIOD).json()["change_failure_rate"]["failed"]


def test_asked_again_the_api_and_the_page_read_what_they_computed(shipped: Any) -> None:
    client = admin()
    for path in ("/api/v1/metrics/", "/metrics/"):
        first = client.get(path, PERIOD)
        with CaptureQueriesContext(connection) as again:
            second = client.get(path, PERIOD)
        with override_settings(METRICS_CACHE_SECONDS=0), CaptureQueriesContext(connection) as computed:
            third = client.get(path, PERIOD)

        assert first.status_code == second.status_code == third.status_code == 200
        assert same(first.content) == same(second.content) == same(third.content)
        assert len(again) < len(computed) - 4  # the figures' aggregates are not run again


def test_a_corrected_record_moves_the_stamp_and_the_figures_follow(
    shipped: Any, django_capture_on_commit_callbacks: Any
) -> None:
    h, deployments = shipped
    client = admin()
    first = h.fail(deployments[0], "watch signed off: fix forward", 50)  # written outside the flows: no new stamp
    before = stamp(FIGURES)
    assert failed(client) == 1

    with django_capture_on_commit_callbacks(execute=True):
        dismissed = client.post(f"/releases/{first.pk}/dismiss-failure/", {"reason": "a false alert"})

    assert dismissed.status_code == 302
    assert stamp(FIGURES) != before
    assert failed(client) == 0


def test_a_derivation_after_an_event_moves_the_stamp_and_time_alone_does_not(
    shipped: Any, django_capture_on_commit_callbacks: Any
) -> None:
    h, _ = shipped
    client = admin()
    assert client.get("/api/v1/metrics/", PERIOD).json()["deployment_frequency"]["deployments"] == 3
    h.deploy("production", 3, 4 * 60)  # a fourth deployment reaches the mirror: the webhook's flow follows
    h.deploy("production", 2, 5 * 60, state="failure")
    before = stamp(FIGURES)

    with django_capture_on_commit_callbacks(execute=True):
        repository_changed(repository_id=h.repo.pk, now=at(7 * DAY))
    moved = stamp(FIGURES)
    with django_capture_on_commit_callbacks(execute=True):
        repositories_changed(now=at(7 * DAY))  # the beat's tick: nothing new was written

    assert moved != before
    assert stamp(FIGURES) == moved
    figures = client.get("/api/v1/metrics/", PERIOD).json()
    assert figures["deployment_frequency"]["deployments"] == 4
    assert figures["change_failure_rate"]["failed"] == 1


def test_another_scope_is_never_answered_with_this_ones_figures(shipped: Any) -> None:
    other = History(owner="acme", name="other", full_name="acme/other")
    other.merge(member("ben").developer, opened=0, merged=30, first_commit=-10)
    other.deploy("production", 1, 40)
    other.derive()
    client = admin()

    everything = client.get("/api/v1/metrics/", PERIOD).json()
    one = client.get("/api/v1/metrics/", {**PERIOD, "repository": "acme/other"}).json()
    ana = client.get("/api/v1/metrics/", {**PERIOD, "login": "ana"}).json()

    assert everything["deployment_frequency"]["deployments"] == 4
    assert one["deployment_frequency"]["deployments"] == 1
    assert ana["deployment_frequency"]["deployments"] == 3


def test_a_stamp_the_cache_lost_starts_from_the_clock_not_from_an_old_number(shipped: Any) -> None:
    client = admin()
    failed(client)
    old = stamp(FIGURES)
    cache.delete(f"stamp:{connection.settings_dict['NAME']}:{FIGURES}")

    assert stamp(FIGURES) > old
