"""The demo's past watches: releases too old to watch when first synced get the watches their owners would have
kept, so the metrics' watch figures and the verified lead time are not empty on a first start."""

from __future__ import annotations

import pytest

from delivery.flows.changes import history_watched
from delivery.metrics.figures import metrics
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Change, Release
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, History, at

pytestmark = pytest.mark.django_db


def shipped(releases: int) -> History:
    h = History()
    people = [DeveloperFactory(login="ana"), DeveloperFactory(login="ben")]
    for i in range(releases):
        h.merge(people[i % 2], opened=i * 60, merged=i * 60 + 30, first_commit=i * 60 - 10)
        h.deploy("production", i + 1, i * 60 + 40)
    h.derive(now=7 * DAY)  # a first sync, a week later: every release is history, unwatched
    return h


def test_history_gets_its_owners_watches_signed_off_and_the_figures_count_them() -> None:
    h = shipped(24)
    assert set(Release.objects.values_list("watch_state", flat=True)) == {Release.Watch.NONE}
    assert metrics(h.scope())["process"]["watches_signed_off_in_time"] is None

    watched = history_watched(since=at(-DAY), now=at(7 * DAY))

    assert watched == 24
    assert MonitoringSession.objects.count() == 24
    assert set(Release.objects.values_list("watch_state", flat=True)) == {Release.Watch.DONE}
    late = MonitoringSession.objects.filter(owner_alerted_at__isnull=False)
    assert 0 < late.count() < 12  # about one in eight after the reminder
    assert all(s.signed_off_at > s.window_ends_at for s in MonitoringSession.objects.all())
    figures = metrics(h.scope())
    assert 0.5 < figures["process"]["watches_signed_off_in_time"] < 1
    assert figures["lead_time"]["stages"]["production_to_signed_off"] is not None
    assert not Change.objects.filter(production_at__isnull=False, signed_off_at__isnull=True).exists()


def test_replayed_twice_history_is_watched_once_and_a_rolled_back_release_ends_rolled_back() -> None:
    h = shipped(3)
    Release.objects.filter(deployment__in=h.repo.deployments.order_by("pk")[:1]).update(
        state=Release.State.ROLLED_BACK, failed=True, failed_at=at(90)
    )

    first = history_watched(since=at(-DAY), now=at(7 * DAY))
    again = history_watched(since=at(-DAY), now=at(7 * DAY))

    assert (first, again) == (3, 0)
    rolled = MonitoringSession.objects.get(release__state=Release.State.ROLLED_BACK)
    assert rolled.decision == MonitoringSession.Decision.ROLLED_BACK and rolled.signed_off_at == at(90)
