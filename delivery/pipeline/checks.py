"""The process checks of docs/design.md ("Rules the checks apply"), each a named rule over one change's facts and
its repository's settings. Pure functions: the derivation gathers the facts in bulk and stores the names of the
checks a change fails on the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from delivery.clickup.references import ReferenceRules, task_references
from delivery.github.models import Repository

CHECKS: dict[str, str] = {
    "stale": "Stale: older than the branch age limit",
    "review_breach": "Merged without the required approvals",
    "merge_breach": "Not squash merged",
    "branch_not_deleted": "Branch not deleted after merge",
    "no_preview": "No successful preview deployment",
    "stuck_staging": "Stuck: merged, not on staging",
    "stuck_tag": "Stuck: on staging, not tagged",
    "stuck_production": "Stuck: tagged, not in production",
    "production_failed": "Production deploy failed",
    "no_task": "No ClickUp task named",
}
"""Every check, by name, with the words the pages show."""

BRANCH_DELETION_GRACE = timedelta(days=1)
PREVIEW_GRACE = timedelta(minutes=30)


def _older_than(moment: datetime | None, now: datetime, age: timedelta) -> bool:
    return moment is not None and now - moment > age


@dataclass(frozen=True)
class ChangeFacts:
    open: bool
    draft: bool
    opened_at: datetime | None
    merged_at: datetime | None
    first_commit_at: datetime | None
    staging_at: datetime | None
    tagged_at: datetime | None
    production_at: datetime | None
    approvals_at_head: int  # distinct non-authors whose latest review approves the final head sha
    merge_commit_parents: int  # 0 when the landed commit is not known
    branch_deleted: bool | None  # None when no branch event was seen
    preview_succeeded: bool
    production_failed: bool  # a production deploy containing it failed, and it is not in production
    names_task: bool = True  # its branch name or title names a ClickUp task (delivery.clickup.references)


def names_task(*texts: str) -> bool:
    """Whether a branch name or a pull request's title names a ClickUp task, by the workspace's rules."""
    return bool(task_references(texts, rules=ReferenceRules.from_settings()))


def change_checks(facts: ChangeFacts, repository: Repository, now: datetime) -> list[str]:
    """The names of the checks this change fails, in CHECKS order."""
    failed: set[str] = set()
    limit = timedelta(hours=repository.branch_age_limit_hours)
    if facts.first_commit_at is not None:
        end = facts.merged_at or (now if facts.open else None)
        if end is not None and end - facts.first_commit_at > limit:
            failed.add("stale")
    if facts.merged_at is not None:
        if facts.approvals_at_head < repository.required_approvals:
            failed.add("review_breach")
        if facts.merge_commit_parents > 1:
            failed.add("merge_breach")
        if facts.branch_deleted is False and now - facts.merged_at > BRANCH_DELETION_GRACE:
            failed.add("branch_not_deleted")
        if not facts.preview_succeeded:
            failed.add("no_preview")
        failed |= _stuck(facts, repository, now)
        if facts.production_failed:
            failed.add("production_failed")
    elif (
        facts.open
        and not facts.draft
        and not facts.preview_succeeded
        and _older_than(facts.opened_at, now, PREVIEW_GRACE)
    ):
        failed.add("no_preview")  # a preview takes a few minutes to deploy: an open PR gets some time
    if repository.clickup_task_required and not facts.names_task and (facts.open or facts.merged_at is not None):
        failed.add("no_task")
    return [name for name in CHECKS if name in failed]


def _stuck(facts: ChangeFacts, repository: Repository, now: datetime) -> set[str]:
    if facts.production_at is not None or facts.merged_at is None:
        return set()
    if facts.tagged_at is not None:
        late = now - facts.tagged_at > timedelta(minutes=repository.production_stuck_minutes)
        return {"stuck_production"} if late else set()
    if facts.staging_at is not None:
        late = now - facts.staging_at > timedelta(minutes=repository.tag_stuck_minutes)
        return {"stuck_tag"} if late else set()
    late = now - facts.merged_at > timedelta(minutes=repository.staging_stuck_minutes)
    return {"stuck_staging"} if late else set()
