"""The working agreements' nudges: a change in flight 75 % and 90 % of the way to an agreement's limit shows on its
owner's queue (past it: broken) and is told to its owner on Slack once per level."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from delivery.core.calendar import parse_calendar
from delivery.flows.agreements import agreement_nudges_told
from delivery.github.models import PullRequestCommit
from delivery.notifications.models import Notification
from delivery.pipeline.models import Stage
from delivery.reports.agreements import InForce, nudges_of
from delivery.reports.models import Agreement
from delivery.web.queues import queue_of
from tests.factories import DeveloperFactory, PullRequestFactory
from tests.metrics.history import DAY, HOUR, History, at

pytestmark = pytest.mark.django_db
CALENDAR = parse_calendar("1-5", "9-17", "UTC")
REVIEW = InForce(
    1, Agreement.Kind.PICKUP, 4, "Pull requests get a first review within 4 working hours", frozenset(), None
)
AGE = InForce(2, Agreement.Kind.BRANCH_AGE, 2, "No branch lives longer than 2 days", frozenset(), None)


def waiting(**fields: Any) -> SimpleNamespace:
    """A pull request ready for review on Monday 9:00, first commit an hour before, no review yet."""
    base = {
        "stage": Stage.IN_REVIEW,
        "author_id": 7,
        "repository_id": 3,
        "ready_at": at(0),
        "first_review_at": None,
        "first_commit_at": at(-HOUR),
    }
    return SimpleNamespace(**{**base, **fields})


def levels(change: SimpleNamespace, minutes: float, *agreements: InForce) -> list[tuple[int, int]]:
    return [(n.agreement_id, n.level) for n in nudges_of(change, list(agreements), now=at(minutes), calendar=CALENDAR)]


def test_a_pull_request_waiting_for_its_first_review_is_nudged_at_75_and_90_percent_of_the_working_hours() -> None:
    change = waiting()
    assert levels(change, 2 * HOUR, REVIEW) == []  # 2 of 4 working hours
    assert levels(change, 3 * HOUR, REVIEW) == [(1, 75)]
    assert levels(change, 3.6 * HOUR, REVIEW) == [(1, 90)]
    assert levels(change, DAY, REVIEW) == [(1, 100)]  # Tuesday 9:00: 8 working hours, broken
    # Friday 16:00 ready: by Monday 9:00 one working hour has passed, whatever the weekend
    friday = waiting(ready_at=at(4 * DAY + 7 * HOUR))
    assert levels(friday, 7 * DAY, REVIEW) == []
    assert nudges_of(change, [REVIEW], now=at(3 * HOUR), calendar=CALENDAR)[0].text == (
        "3.0 of 4 working hours waiting for a first review"
    )


def test_reviewed_merged_other_teams_and_other_repositories_are_not_nudged() -> None:
    assert levels(waiting(first_review_at=at(60)), DAY, REVIEW) == []
    assert levels(waiting(stage=Stage.MERGED), DAY, REVIEW, AGE) == []
    other_team = InForce(3, Agreement.Kind.PICKUP, 4, "…", frozenset(), frozenset({99}))
    other_repository = InForce(4, Agreement.Kind.PICKUP, 4, "…", frozenset({98}), None)
    assert levels(waiting(), DAY, other_team, other_repository) == []


def test_a_branch_nearing_its_age_limit_is_nudged() -> None:
    change = waiting(stage=Stage.IN_PROGRESS, ready_at=None)
    assert levels(change, DAY, AGE) == []  # 25 hours of 48
    assert levels(change, 1.5 * DAY, AGE) == [(2, 75)]
    assert levels(change, 1.85 * DAY, AGE) == [(2, 90)]
    assert levels(change, 3 * DAY, AGE) == [(2, 100)]


def test_a_branch_age_under_a_day_is_told_in_hours() -> None:
    short = InForce(5, Agreement.Kind.BRANCH_AGE, 0.15, "No branch lives longer than 0.15 days", frozenset(), None)
    change = waiting(stage=Stage.IN_PROGRESS, ready_at=None)  # first commit an hour before Monday 9:00

    [nudge] = nudges_of(change, [short], now=at(2 * HOUR), calendar=CALENDAR)  # 3 hours of 3.6

    assert nudge.level == 75 and nudge.text == "3.0 of 3.6 hours since the first commit"
    assert nudges_of(waiting(), [AGE], now=at(1.5 * DAY), calendar=CALENDAR)[0].text == (
        "1.5 of 2 days since the first commit"
    )


def open_pull_request(now: float) -> tuple[History, Any]:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana = DeveloperFactory(login="ana", slack_member_id="U0ANA")
    pr = PullRequestFactory(
        repository=h.repo, author=ana, number=42, title="Waiting", created_at=at(0), base_ref="main"
    )
    PullRequestCommit.objects.create(pull_request=pr, sha="a" * 40, authored_at=at(-HOUR))
    h.derive(now=now)
    return h, ana


def test_the_owner_s_queue_shows_the_nudge() -> None:
    _, ana = open_pull_request(3 * HOUR)
    Agreement.objects.create(kind=Agreement.Kind.PICKUP, threshold=4)

    (item,) = queue_of(ana, now=at(3 * HOUR)).items
    assert [(n.level, n.words) for n in item.nudges] == [
        (75, "Pull requests get a first review within 4 working hours")
    ]


def test_the_owner_hears_it_once_on_slack_at_each_level(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"
    open_pull_request(3 * HOUR)
    Agreement.objects.create(kind=Agreement.Kind.PICKUP, threshold=4)

    assert agreement_nudges_told(now=at(2 * HOUR)) == 0
    assert agreement_nudges_told(now=at(3 * HOUR)) == 1
    assert agreement_nudges_told(now=at(3 * HOUR + 10)) == 0  # told already
    assert agreement_nudges_told(now=at(3.7 * HOUR)) == 1  # 90 %
    assert agreement_nudges_told(now=at(DAY)) == 0  # broken: the report counts it, no more nudges
    notices = list(Notification.objects.filter(kind="agreement_nudge").order_by("pk"))
    assert [n.target for n in notices] == ["U0ANA", "U0ANA"]
    assert "acme/billing#42 Waiting* is 75 % of the way to a working agreement" in notices[0].text
    assert "is 90 % of the way" in notices[1].text
