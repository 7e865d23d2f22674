"""The change page's checks read as results: the question, yes / no / not yet, and the facts behind the answer;
never "ok" next to a failure's wording."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.github.models import Branch, Repository
from delivery.pipeline.check_results import change_check_results
from delivery.pipeline.models import Change, Stage
from tests.factories import DeveloperFactory, PullRequestFactory, RepositoryFactory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _results(change: Change, **facts: Any) -> dict[str, str]:
    facts = {"branch_deleted": None, "has_preview": False, **facts}
    return {r.name: f"{r.question} — {r.answer} ({r.detail})" for r in change_check_results(change, now=NOW, **facts)}


def _change(**fields: Any) -> Change:
    return Change(repository=Repository(full_name="acme/api"), title="A change", **fields)


@pytest.mark.django_db
def test_the_change_page_reads_each_check_as_a_result(client: Any) -> None:
    repository = RepositoryFactory()
    pr = PullRequestFactory(repository=repository, created_at=timezone.now() - timedelta(hours=3))
    change = Change.objects.create(
        repository=repository,
        pull_request=pr,
        title=pr.title,
        author=DeveloperFactory(),
        stage=Stage.IN_REVIEW,
        first_commit_at=pr.created_at,
        pr_opened_at=pr.created_at,
        failed_checks=["no_preview"],
    )
    body = _text(client.get(reverse("change", args=[change.pk])).content.decode())
    assert "Stale — no (opened 3 h ago, limit 48 h)" in body
    assert "Merged without the required approvals — not yet (checked at the merge: 1 approval at its final" in body
    assert "No preview — yes (no preview deployment succeeded)" in body
    assert "Stuck before staging — not yet (not merged yet)" in body
    assert "Production deploy failed — not yet (not merged yet)" in body
    assert " ok " not in body and "fails" not in body


def test_a_failed_check_says_yes_with_its_facts() -> None:
    stale = _change(
        stage=Stage.IN_REVIEW, first_commit_at=NOW - timedelta(days=3), failed_checks=["stale"], pr_opened_at=NOW
    )
    assert _results(stale)["stale"] == "Stale — yes (first commit 3 d ago, limit 48 h)"
    stuck = _change(
        stage=Stage.TAGGED,
        merged_at=NOW - timedelta(hours=4),
        staging_at=NOW - timedelta(hours=3, minutes=50),
        tagged_at=NOW - timedelta(hours=3),
        failed_checks=["stuck_production", "production_failed", "branch_not_deleted"],
    )
    results = _results(stuck, branch_deleted=False)
    assert results["stuck_production"] == "Stuck before production — yes (tagged 3 h ago, not in production; limit 1 h)"
    assert results["stuck_staging"] == "Stuck before staging — no (on staging 10 min later, limit 1 h)"
    assert results["production_failed"] == "Production deploy failed — yes (a production deploy containing it failed)"
    assert results["branch_not_deleted"] == "Branch left after the merge — yes (still there a day after the merge)"


def test_checks_that_cannot_apply_yet_say_not_yet() -> None:
    fresh = _change(stage=Stage.IN_REVIEW, first_commit_at=NOW, pr_opened_at=NOW - timedelta(minutes=10))
    results = _results(fresh)
    assert results["no_preview"] == "No preview — not yet (opened 10 min ago: a preview has 30 min to deploy)"
    assert results["merge_breach"] == (
        "Merged other than by squash — not yet (checked at the merge: one squashed commit expected)"
    )
    assert results["branch_not_deleted"] == "Branch left after the merge — not yet (checked after the merge)"
    just_merged = _change(
        stage=Stage.MERGED, first_commit_at=NOW - timedelta(hours=5), merged_at=NOW - timedelta(minutes=20)
    )
    results = _results(just_merged, branch_deleted=False, has_preview=True)
    assert results["branch_not_deleted"] == (
        "Branch left after the merge — not yet (merged 20 min ago: it has a day to be deleted)"
    )
    assert results["stale"] == "Stale — no (merged 4 h 40 min after its first commit, limit 48 h)"
    assert results["stuck_staging"] == "Stuck before staging — no (merged 20 min ago, limit 1 h)"
    assert results["stuck_tag"] == "Stuck before the tag — not yet (not on staging yet)"
    assert results["no_preview"] == "No preview — no (a preview deployment succeeded)"
    assert results["review_breach"] == (
        "Merged without the required approvals — no (approved at its final commit, 1 required)"
    )


def test_a_deleted_branch_and_a_change_in_production_read_as_kept() -> None:
    shipped = _change(
        stage=Stage.DONE,
        first_commit_at=NOW - timedelta(days=1),
        merged_at=NOW - timedelta(hours=20),
        staging_at=NOW - timedelta(hours=19, minutes=55),
        tagged_at=NOW - timedelta(hours=19, minutes=50),
        production_at=NOW - timedelta(hours=19, minutes=40),
    )
    results = _results(shipped, branch_deleted=Branch(deleted_at=NOW).is_deleted, has_preview=True)
    assert results["branch_not_deleted"] == "Branch left after the merge — no (deleted)"
    assert results["stuck_production"] == "Stuck before production — no (in production 10 min later, limit 1 h)"
    assert results["production_failed"] == "Production deploy failed — no (in production)"
    assert all(" — yes " not in text for text in results.values())


def test_a_stage_reached_after_its_limit_reads_was_stuck_never_no() -> None:
    """The derivation flags stuck_* only while the change waits (the board and the metrics count it there); once it
    moved on after the limit, the page says it was stuck, not "no" next to a breach."""
    late = _change(
        stage=Stage.IN_PRODUCTION,
        merged_at=NOW - timedelta(hours=50),
        staging_at=NOW - timedelta(hours=50) + timedelta(hours=45, minutes=45),
        tagged_at=NOW - timedelta(hours=4, minutes=5),
        production_at=NOW - timedelta(hours=1),
    )
    results = _results(late, branch_deleted=True, has_preview=True)
    assert results["stuck_staging"] == (
        "Stuck before staging — was stuck (reached staging 45 h 45 min after the merge, limit 1 h)"
    )
    assert results["stuck_tag"] == "Stuck before the tag — no (tagged 10 min later, limit 1 h)"
    assert results["stuck_production"] == (
        "Stuck before production — was stuck (reached production 3 h 5 min after the tag, limit 1 h)"
    )
    skipped = _change(stage=Stage.IN_PRODUCTION, merged_at=NOW - timedelta(hours=3), production_at=NOW)
    assert _results(skipped)["stuck_staging"] == (
        "Stuck before staging — was stuck (reached production 3 h after the merge, limit 1 h)"
    )
    for text in (*results.values(), *_results(skipped).values()):
        if "limit" in text and (" — no " in text or " — ok " in text):
            over = re.search(r"(\d+) h(?: \d+ min)? (?:after|later)", text)
            assert over is None or int(over.group(1)) < 1, text


def test_the_task_check_reads_only_where_the_repository_requires_a_task(settings: Any) -> None:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    pr = PullRequestFactory.build(head_ref="ana/prj-7-export", title="Export")
    required = Repository(full_name="acme/api", clickup_task_required=True)
    named = Change(repository=required, pull_request=pr, title="Export", stage=Stage.IN_REVIEW)
    unnamed = Change(repository=required, pull_request=pr, title="x", stage=Stage.IN_REVIEW, failed_checks=["no_task"])
    assert _results(named)["no_task"] == "No ClickUp task named — no (names its task in its branch name or title)"
    assert _results(unnamed)["no_task"].startswith("No ClickUp task named — yes (its branch name and title name no")
    assert "no_task" not in _results(_change(stage=Stage.IN_REVIEW))
