"""The figures over time (the page's charts): per day and per week (from Monday), from the same rows as the
figures, so a period's days and weeks add up to its figures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from delivery.metrics import series
from delivery.metrics.charts import ticks
from delivery.metrics.figures import metrics
from delivery.metrics.scope import Scope
from delivery.pipeline.models import Release
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, WEEK, History

pytestmark = pytest.mark.django_db


def test_weeks_add_up_the_days_failures_rework_and_lead_time_across_two_weeks() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-30)
    h.merge(dev, opened=60, merged=90, first_commit=30)
    h.merge(dev, opened=8 * DAY, merged=8 * DAY + 30, first_commit=8 * DAY - 90, head_ref="hotfix/cart")
    broken = h.deploy("production", 1, 40)  # Monday of the first week
    fix = h.deploy("production", 2, 2 * DAY)  # Wednesday, fixes the first
    h.deploy("production", 2, 3 * DAY, state="failure")  # Thursday: a failed deploy
    h.deploy("production", 3, 8 * DAY + 60)  # the next Tuesday: a hotfix (unplanned)
    h.derive(now=14 * DAY)
    Release.objects.filter(deployment=fix).update(fix_for=h.release(broken))
    scope = Scope(WEEK[0], WEEK[1] + timedelta(days=7), (h.repo,))

    days = series.days(scope)
    weeks = series.weeks(scope)

    assert len(days) == 14 and days[0].day == date(2026, 11, 2)
    assert [(d.day.day, d.releases, d.attempts, d.failed, d.unplanned) for d in days if d.attempts] == [
        (2, 1, 1, 1, 0),
        (4, 1, 1, 0, 1),
        (5, 0, 1, 1, 0),
        (10, 1, 1, 0, 1),
    ]
    first, second = weeks
    assert (first.starts, first.deployments, first.unplanned, first.releases, first.failed) == (
        date(2026, 11, 2),
        2,
        1,
        3,
        2,
    )
    assert (second.starts, second.deployments, second.unplanned, second.releases, second.failed) == (
        date(2026, 11, 9),
        1,
        1,
        1,
        0,
    )
    assert first.failure_rate == pytest.approx(2 / 3) and second.rework_rate == 1.0
    assert first.changes == 2 and second.changes == 1 and second.lead_median == 150 * 60
    # The weeks add up to the period's figures.
    figures = metrics(scope)
    assert sum(w.releases for w in weeks) == figures["change_failure_rate"]["releases"]
    assert sum(w.failed for w in weeks) == figures["change_failure_rate"]["failed"]
    assert sum(w.unplanned for w in weeks) == figures["rework_rate"]["unplanned"]
    # Given the days already read, the weeks are the same.
    assert series.weeks(scope, days) == weeks


def test_chart_labels_have_one_slot_per_bar_so_each_sits_under_its_own() -> None:
    days = [date(2026, 11, 2) + timedelta(days=i) for i in range(28)]

    labels = ticks(days)

    assert len(labels) == 28
    assert [(i, label) for i, label in enumerate(labels) if label] == [
        (0, "2 Nov"),
        (7, "9 Nov"),
        (14, "16 Nov"),
        (20, "22 Nov"),
        (27, "29 Nov"),
    ]
    assert ticks(days[:3]) == ["2 Nov", "3 Nov", "4 Nov"]
