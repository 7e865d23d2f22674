"""Every definition of the figures, pinned on hand-built histories (docs/design.md, "Metrics")."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.metrics.figures import metrics
from delivery.metrics.scope import Scope
from delivery.pipeline.models import Release
from tests.factories import DeveloperFactory, SyncRunFactory
from tests.metrics.history import DAY, HOUR, WEEK, History, change

pytestmark = pytest.mark.django_db


def test_lead_time_runs_from_the_first_own_commit_to_the_first_production_deploy_that_contains_it() -> None:
    h = History()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    # Squash merged: the squash commit is made at the merge; the PR's own first commit was two hours before.
    first = h.merge(ana, opened=0, merged=60, first_commit=-120, reviews=((ben, 20),))
    h.merge(ben, opened=10, merged=70, first_commit=0, reviews=((ana, 40),))
    h.deploy("staging", 2, 80)
    h.tag("v1.0.0", 1, 85)
    h.deploy("production", 1, 90)  # the first only
    h.tag("v1.0.1", 2, 100)
    h.deploy("production", 2, 130)
    h.derive()

    lead = metrics(h.scope())["lead_time"]

    assert change(first).first_commit_at is not None
    assert lead["changes"] == 2
    # 210 and 130 minutes: the median between them, p90 near the longer (PostgreSQL's percentile_cont).
    assert lead["median_seconds"] == 170 * 60
    assert lead["p90_seconds"] == round((130 + 0.9 * 80) * 60)
    assert lead["stages"] == {
        "coding": (120 * 60 + 10 * 60) / 2,  # first commit → ready (opened, not a draft): 120 and 10 minutes
        "pickup": (20 * 60 + 30 * 60) / 2,  # ready → first review by someone else
        "review": (40 * 60 + 30 * 60) / 2,  # first review → merge
        "merge_to_staging": (20 * 60 + 10 * 60) / 2,
        "staging_to_tag": (5 * 60 + 20 * 60) / 2,
        "tag_to_production": (5 * 60 + 30 * 60) / 2,
        "production_to_signed_off": None,  # nobody has signed off a watch in this history
    }
    assert lead["level"] == "elite" and lead["score"] == 8.0  # under a day, not under an hour


def test_a_merge_commit_keeps_its_lead_time_and_counts_against_squash_merging() -> None:
    h = History()
    ana, ben = DeveloperFactory(), DeveloperFactory()
    squashed = h.merge(ana, opened=0, merged=60, first_commit=-60, reviews=((ben, 30),))
    merged = h.merge(ben, opened=0, merged=90, first_commit=-30, reviews=((ana, 30),), merge_commit=True)
    h.deploy("production", 2, 120)
    h.derive()

    figures = metrics(h.scope())

    assert "merge_breach" in change(merged).failed_checks and "merge_breach" not in change(squashed).failed_checks
    assert figures["lead_time"]["median_seconds"] == (180 * 60 + 150 * 60) / 2
    assert figures["process"]["merged_prs"] == 2
    assert figures["process"]["squash_merged"] == 0.5
    assert figures["process"]["approved"] == 1.0
    assert figures["process"]["pr_size_median"] == 40.0


def test_a_rollback_that_undoes_two_releases_fails_both_and_recovers_them_when_it_goes_live() -> None:
    h = History()
    dev = DeveloperFactory()
    for i in range(3):
        h.merge(dev, opened=i * 60, merged=i * 60 + 30, first_commit=i * 60 - 10)
    good = h.deploy("production", 1, 40)
    second = h.deploy("production", 2, 100)
    third = h.deploy("production", 3, 160)
    h.derive()
    h.fail(second, "rolled back: errors", 170)
    h.fail(third, "rolled back: errors", 170)
    h.deploy("production", 1, 180)  # the rollback: the good version again
    h.derive()

    figures = metrics(h.scope())

    assert h.release(good).failed is False
    assert figures["deployment_frequency"] | {"level": None, "score": None} == {
        "deployments": 3,
        "rollbacks": 1,
        "per_week": 3.0,
        "deployment_days_per_week": 1.0,
        "level": None,
        "score": None,
    }
    assert figures["change_failure_rate"]["releases"] == 3
    assert figures["change_failure_rate"]["failed"] == 2
    assert figures["change_failure_rate"]["rate"] == 0.6667
    assert figures["change_failure_rate"]["level"] == "low"
    # Both failed at the rollback's request and recovered when it went live, ten minutes later.
    assert figures["recovery_time"]["recoveries"] == 2
    assert figures["recovery_time"]["median_seconds"] == 10 * 60
    assert figures["recovery_time"]["level"] == "elite" and figures["recovery_time"]["score"] == 10.0
    assert figures["rework_rate"] == {"deployments": 4, "unplanned": 1, "rate": 0.25, "score": 7.5}


def test_a_fix_forward_counts_the_fixed_release_as_failed_and_the_fix_as_unplanned() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-10)
    h.merge(dev, opened=40, merged=70, first_commit=35, head_ref="hotfix/checkout")
    broken = h.deploy("production", 1, 40)
    fix = h.deploy("production", 2, 100)
    h.derive()
    Release.objects.filter(deployment=fix).update(fix_for=h.release(broken))

    figures = metrics(h.scope())

    assert figures["change_failure_rate"]["failed"] == 1 and figures["change_failure_rate"]["releases"] == 2
    # No failure time was recorded: it was broken from the moment it went live until the fix did.
    assert figures["recovery_time"]["recoveries"] == 1
    assert figures["recovery_time"]["median_seconds"] == 60 * 60
    assert figures["rework_rate"]["unplanned"] == 1


def test_a_failed_sign_off_recovers_at_the_next_release_whose_watch_did_not_fail() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-10)
    h.merge(dev, opened=40, merged=70, first_commit=35, title='Revert "Add checkout"')
    broken = h.deploy("production", 1, 40)
    h.derive()
    h.fail(broken, "watch signed off: fix forward", 60)
    fix = h.deploy("production", 2, 100)
    h.derive()
    Release.objects.filter(deployment=fix).update(fix_for=h.release(broken))

    figures = metrics(h.scope())

    assert figures["recovery_time"]["recoveries"] == 1
    assert figures["recovery_time"]["median_seconds"] == 40 * 60
    assert figures["rework_rate"]["unplanned"] == 1  # the fix (and its "Revert" title) counted once


def test_a_failed_deploy_with_no_recovery_yet_is_a_failed_release_and_no_recovery_time() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-10)
    h.deploy("production", 1, 40, state="failure")
    h.derive()

    figures = metrics(h.scope())

    assert figures["change_failure_rate"] | {"level": None, "score": None} == {
        "releases": 1,
        "failed": 1,
        "rate": 1.0,
        "level": None,
        "score": None,
    }
    assert figures["recovery_time"]["recoveries"] == 0
    assert figures["recovery_time"]["unrecovered"] == 1
    assert figures["recovery_time"]["median_seconds"] is None and figures["recovery_time"]["level"] is None
    assert figures["deployment_frequency"]["deployments"] == 0
    assert figures["lead_time"]["changes"] == 0


def test_bots_are_left_out_unless_asked_for() -> None:
    h = History()
    dev, bot = DeveloperFactory(login="dev"), DeveloperFactory(login="dependabot[bot]")
    h.merge(dev, opened=0, merged=30, first_commit=-30)
    h.merge(bot, opened=0, merged=60, first_commit=-600)
    h.deploy("production", 1, 40)
    h.deploy("production", 2, 70)  # brought only the bot's change
    h.derive()

    people = metrics(h.scope())
    everyone = metrics(h.scope(include_bots=True))

    assert people["lead_time"]["changes"] == 1 and people["lead_time"]["median_seconds"] == 70 * 60
    assert people["deployment_frequency"]["deployments"] == 1
    assert everyone["lead_time"]["changes"] == 2
    assert everyone["deployment_frequency"]["deployments"] == 2


def test_an_empty_week_measures_nothing_and_says_so_with_nulls() -> None:
    h = History()
    h.derive()

    figures = metrics(h.scope())

    assert figures["deployment_frequency"]["deployments"] == 0
    assert figures["deployment_frequency"]["level"] == "low"
    assert figures["lead_time"] == {
        "changes": 0,
        "median_seconds": None,
        "p90_seconds": None,
        "level": None,
        "score": None,
        "stages": dict.fromkeys(figures["lead_time"]["stages"]),
    }
    assert figures["change_failure_rate"]["rate"] is None
    assert figures["recovery_time"]["median_seconds"] is None
    assert figures["rework_rate"]["rate"] is None
    assert figures["process"]["merged_prs"] == 0 and figures["process"]["within_age_limit"] is None


def test_a_change_that_took_a_month_is_low_and_stale() -> None:
    h = History()
    dev, other = DeveloperFactory(), DeveloperFactory()
    h.merge(dev, opened=-30 * DAY, merged=HOUR, first_commit=-31 * DAY, reviews=((other, 0),))
    h.deploy("production", 1, 2 * HOUR)
    h.derive()

    figures = metrics(h.scope())

    assert figures["lead_time"]["median_seconds"] == (31 * DAY + 2 * HOUR) * 60
    assert figures["lead_time"]["level"] == "low"
    assert figures["lead_time"]["score"] == 2.0  # one to six months
    assert figures["process"]["within_age_limit"] == 0.0


def test_one_person_sees_their_own_changes_and_releases() -> None:
    h = History()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    h.merge(ana, opened=0, merged=30, first_commit=-30)
    h.merge(ben, opened=0, merged=60, first_commit=-90)
    h.deploy("production", 1, 40)
    h.deploy("production", 2, 70)
    h.derive()

    mine = metrics(h.scope(developer=ana))

    assert mine["lead_time"]["changes"] == 1 and mine["lead_time"]["median_seconds"] == 70 * 60
    assert mine["deployment_frequency"]["deployments"] == 1


@pytest.mark.parametrize("prs", [3, 30])
def test_the_figures_take_the_same_number_of_queries_whatever_the_history(prs: int) -> None:
    h = History()
    dev = DeveloperFactory()
    for i in range(prs):
        h.merge(dev, opened=i * 10, merged=i * 10 + 5, first_commit=i * 10 - 5)
        h.deploy("production", i + 1, i * 10 + 8)
    h.derive()
    scope = Scope(WEEK[0], WEEK[1], (h.repo,))

    with CaptureQueriesContext(connection) as queries:
        metrics(scope)

    assert len(queries) == 8


def test_watches_signed_off_before_the_reminder_are_in_time_and_end_the_verified_lead_time() -> None:
    h = History()
    ana, ben = DeveloperFactory(), DeveloperFactory()
    h.merge(ana, opened=0, merged=30, first_commit=-30)
    h.merge(ben, opened=0, merged=60, first_commit=-30)
    first = h.release_of(h.deploy("production", 1, 40))
    second = h.release_of(h.deploy("production", 2, 70))
    h.watch(first, ana, ends=70, signed_off=65)
    h.watch(second, ben, ends=100, signed_off=200, reminded=115)  # overdue: reminded, then signed off
    h.derive()

    figures = metrics(h.scope())

    assert figures["process"]["watches_signed_off_in_time"] == 0.5
    # production → signed off: 25 and 130 minutes.
    assert figures["lead_time"]["stages"]["production_to_signed_off"] == (25 * 60 + 130 * 60) / 2


def test_a_period_that_starts_before_the_synced_history_is_partial(settings: Any) -> None:
    settings.SYNC_BACKFILL_DAYS = 120
    h = History()
    SyncRunFactory(repository=h.repo)  # the first sync: now, reading SYNC_BACKFILL_DAYS back
    h.derive()

    assert metrics(h.scope())["partial"] is False  # this week is inside the history read
    old = Scope(date(2020, 1, 6), date(2020, 1, 12), (h.repo,))
    assert metrics(old)["partial"] is True
