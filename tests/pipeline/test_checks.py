"""Every process check, on hand-built histories: the rule fires when the process is left, and only then."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.github.models import Branch, Commit, PullRequest, Review
from delivery.pipeline.checks import names_task
from delivery.pipeline.models import Change
from tests.factories import DeveloperFactory, PullRequestFactory
from tests.pipeline.test_derive import History, at

pytestmark = pytest.mark.django_db


def checks(pr: PullRequest) -> list[str]:
    return Change.objects.get(pull_request=pr).failed_checks


@pytest.fixture
def h() -> History:
    return History()


def merged_by_the_book(h: History, *, opened: float = 0, merged: float = 60) -> PullRequest:
    """A squash-merged PR with an approval at its final head, a preview, and its branch deleted."""
    author, reviewer = DeveloperFactory(), DeveloperFactory()
    pr = h.merge(author, opened=opened, merged=merged, first_commit=opened - 30)
    PullRequest.objects.filter(pk=pr.pk).update(head_sha="f" * 40, head_ref=f"feature-{pr.pk}")
    pr.refresh_from_db()
    Review.objects.create(
        github_id=pr.pk + 500_000,
        pull_request=pr,
        author=reviewer,
        state="APPROVED",
        commit_sha="f" * 40,
        submitted_at=at(merged - 10),
    )
    h.deploy("pr-1", 0, opened + 5, ref=pr.head_ref)
    Branch.objects.create(
        repository=h.repo,
        name=pr.head_ref,
        first_seen_at=at(opened - 30),
        head_updated_at=at(merged - 5),
        deleted_at=at(merged),
    )
    return pr


def test_a_change_that_follows_the_process_fails_no_check(h: History) -> None:
    pr = merged_by_the_book(h)
    h.deploy("staging", 1, 70)
    h.deploy("production", 1, 90)
    h.derive(now=100)
    assert checks(pr) == []


def test_stale_when_older_than_the_branch_age_limit_from_the_first_commit(h: History) -> None:
    slow = merged_by_the_book(h, opened=0, merged=49 * 60)  # first commit 30 min before opening: 49.5 h
    open_old = PullRequestFactory(repository=h.repo, base_ref="main", created_at=at(0))
    open_new = PullRequestFactory(repository=h.repo, base_ref="main", created_at=at(60 * 47))
    h.derive(now=60 * 49)
    assert "stale" in checks(slow)
    assert "stale" in checks(open_old) and "stale" not in checks(open_new)


def test_review_breach_counts_only_approvals_by_others_at_the_final_head(h: History) -> None:
    pr = merged_by_the_book(h)
    Review.objects.filter(pull_request=pr).update(commit_sha="0" * 40)  # approved an earlier head
    Review.objects.create(
        github_id=1, pull_request=pr, author=pr.author, state="APPROVED", commit_sha="f" * 40, submitted_at=at(55)
    )  # the author's own approval does not count
    h.derive(now=100)
    assert "review_breach" in checks(pr)


def test_a_dismissed_approval_does_not_count(h: History) -> None:
    pr = merged_by_the_book(h)
    Review.objects.filter(pull_request=pr).update(state="DISMISSED")
    h.derive(now=100)
    assert "review_breach" in checks(pr)


def test_merge_breach_when_a_merge_commit_landed(h: History) -> None:
    pr = merged_by_the_book(h)
    Commit.objects.filter(sha=pr.merge_commit_sha).update(parent_shas=["a" * 40, "b" * 40])
    h.derive(now=100)
    assert "merge_breach" in checks(pr)


def test_branch_not_deleted_a_day_after_merge(h: History) -> None:
    pr = merged_by_the_book(h)
    Branch.objects.filter(name=pr.head_ref).update(deleted_at=None)
    h.derive(now=60 + 23 * 60)
    assert "branch_not_deleted" not in checks(pr)  # still within the day
    h.derive(now=60 + 25 * 60)
    assert "branch_not_deleted" in checks(pr)


def test_no_preview_when_no_preview_deployment_succeeded(h: History) -> None:
    pr = merged_by_the_book(h)
    pr.repository.deployments.filter(environment="pr-1").update(ref="someone-else")
    h.derive(now=100)
    assert "no_preview" in checks(pr)


@pytest.mark.parametrize(
    ("deploys", "now", "expected"),
    [
        ([], 60 + 59, None),
        ([], 60 + 61, "stuck_staging"),
        ([("staging", 70)], 70 + 61, "stuck_tag"),
        ([("staging", 70), ("tag", 80)], 80 + 61, "stuck_production"),
        ([("staging", 70), ("tag", 80), ("production", 90)], 10_000, None),
    ],
)
def test_stuck_between_stages(h: History, deploys: list[Any], now: float, expected: str | None) -> None:
    from tests.factories import TagFactory

    pr = merged_by_the_book(h)
    for what, minutes in deploys:
        if what == "tag":
            TagFactory(repository=h.repo, name="v1.2.3", sha=h.commits[1].sha, created_at=at(minutes))
        else:
            h.deploy(what, 1, minutes)
    h.derive(now=now)
    stuck = [c for c in checks(pr) if c.startswith("stuck")]
    assert stuck == ([expected] if expected else [])


def test_production_failed_until_a_production_deploy_containing_it_succeeds(h: History) -> None:
    pr = merged_by_the_book(h)
    h.deploy("production", 1, 90, state="failure")  # a deploy containing the change fails
    h.derive(now=100)
    assert "production_failed" in checks(pr)
    h.deploy("production", 1, 95)
    h.derive(now=100)
    assert "production_failed" not in checks(pr)


def test_no_task_where_the_repository_requires_one_and_the_pull_request_names_none(h: History, settings: Any) -> None:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    h.repo.clickup_task_required = True
    h.repo.save()
    named = merged_by_the_book(h)
    PullRequest.objects.filter(pk=named.pk).update(title="Export (PRJ-7)")
    titled = merged_by_the_book(h, opened=1, merged=61)
    PullRequest.objects.filter(pk=titled.pk).update(title="CU-86b0x1y30 export")
    unnamed = merged_by_the_book(h, opened=2, merged=62)
    still_open = PullRequestFactory(repository=h.repo, base_ref="main", created_at=at(10), head_ref="x", title="Work")
    h.derive(now=100)
    assert checks(named) == checks(titled) == []
    assert checks(unnamed) == ["no_task"] and checks(still_open)[-1] == "no_task"

    assert names_task("ana/prj-7-export", "Export") and not names_task("ana/export", "Export #12")

    h.repo.clickup_task_required = False  # not this repository's rule: derived again, nobody is flagged
    h.repo.save()
    h.derive(now=101)
    assert "no_task" not in checks(unnamed) + checks(still_open)
