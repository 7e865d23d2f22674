"""Each process check of one change as a result a person reads: the question, its answer, and the facts behind it
("Stale — no (opened 3 h ago, limit 48 h)"). The answer is the derivation's (the change's failed checks); "not
yet" is for a check that cannot apply yet (a merge rule before the merge). The change page shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from delivery.core.templatetags.trunkline import ago_text, duration
from delivery.pipeline.checks import CHECKS, PREVIEW_GRACE, names_task
from delivery.pipeline.models import Change, Stage

FAILS, PASSES, NOT_YET, NOT_KNOWN = "yes", "no", "not yet", "not known"
WAS = "was stuck"
"""A stuck check's answer once the change moved on after its limit: the derivation flags stuck_* only while a change
is in flight (the board and the metrics count it there), but the page must not read "no" next to a breach."""
QUESTIONS: dict[str, str] = {
    "stale": "Stale",
    "review_breach": "Merged without the required approvals",
    "merge_breach": "Merged other than by squash",
    "branch_not_deleted": "Branch left after the merge",
    "no_preview": "No preview",
    "stuck_staging": "Stuck before staging",
    "stuck_tag": "Stuck before the tag",
    "stuck_production": "Stuck before production",
    "production_failed": "Production deploy failed",
    "no_task": "No ClickUp task named",
}
"""Each check as a question its answer reads against: "yes" is the process left, "no" kept."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    question: str
    answer: str  # FAILS, PASSES, NOT_YET or NOT_KNOWN
    detail: str

    @property
    def css(self) -> str:
        return {FAILS: "badge-bad", WAS: "badge-warn", PASSES: "badge-ok"}.get(self.answer, "badge-muted")


def change_check_results(
    change: Change, *, now: datetime, branch_deleted: bool | None, has_preview: bool
) -> list[CheckResult]:
    """Every check of CHECKS, in order, for this change (its repository and pull request loaded). Whether it
    fails is the derivation's answer; the facts give the words, and "not yet" where the check cannot apply."""
    repository, merged = change.repository, change.merged_at
    failed = set(change.failed_checks)
    approvals = repository.required_approvals
    answers = {
        "stale": _stale(change, now, "stale" in failed),
        "review_breach": _merge_rule(
            merged,
            "review_breach" in failed,
            kept=f"approved at its final commit, {approvals} required" if approvals else "no approval required",
            left=f"fewer than {approvals} approval{'s' if approvals > 1 else ''} at its final commit",
            before=f"{approvals} approval{'' if approvals == 1 else 's'} at its final commit required",
        ),
        "merge_breach": _merge_rule(
            merged,
            "merge_breach" in failed,
            kept="one squashed commit landed on main",
            left="a merge commit, or several commits, landed on main",
            before="one squashed commit expected",
        ),
        "branch_not_deleted": _branch(merged, now, branch_deleted, "branch_not_deleted" in failed),
        "no_preview": _preview(change, now, has_preview, "no_preview" in failed),
        "stuck_staging": _stuck(
            _Stage(merged, "merged", "the merge"),
            _Stage(change.staging_at, "on staging", "staging", "reached staging"),
            change.production_at,
            now,
            repository.staging_stuck_minutes,
            "stuck_staging" in failed,
        ),
        "stuck_tag": _stuck(
            _Stage(change.staging_at, "on staging", "staging", "reached staging"),
            _Stage(change.tagged_at, "tagged", "the tag"),
            change.production_at,
            now,
            repository.tag_stuck_minutes,
            "stuck_tag" in failed,
        ),
        "stuck_production": _stuck(
            _Stage(change.tagged_at, "tagged", "the tag"),
            _Stage(change.production_at, "in production", "production", "reached production"),
            None,
            now,
            repository.production_stuck_minutes,
            "stuck_production" in failed,
        ),
        "production_failed": _production(change, "production_failed" in failed),
        "no_task": _task(change, "no_task" in failed),
    }
    if not repository.clickup_task_required:
        del answers["no_task"]  # not this repository's rule
    return [CheckResult(name, QUESTIONS[name], *answers[name]) for name in CHECKS if name in answers]


def _stale(change: Change, now: datetime, fails: bool) -> tuple[str, str]:
    limit = f"limit {change.repository.branch_age_limit_hours} h"
    start = change.first_commit_at
    answer = FAILS if fails else PASSES
    if start is None:
        return (answer, limit) if fails else (NOT_KNOWN, "its first commit is not known yet")
    if change.merged_at is not None:
        return answer, f"merged {duration(change.merged_at - start)} after its first commit, {limit}"
    if change.stage == Stage.CLOSED:
        return PASSES, "closed without merging"
    # The age runs from the branch's first commit; the pull request's opening when its commits are not read yet.
    since = "opened" if start == change.pr_opened_at else "first commit"
    return answer, f"{since} {ago_text(start, now)}, {limit}"


def _merge_rule(merged: datetime | None, fails: bool, *, kept: str, left: str, before: str) -> tuple[str, str]:
    if fails:
        return FAILS, left
    if merged is None:
        return NOT_YET, f"checked at the merge: {before}"
    return PASSES, kept


def _branch(merged: datetime | None, now: datetime, deleted: bool | None, fails: bool) -> tuple[str, str]:
    if fails:
        return FAILS, "still there a day after the merge"
    if merged is None:
        return NOT_YET, "checked after the merge"
    if deleted:
        return PASSES, "deleted"
    if deleted is None:
        return NOT_KNOWN, "no event about the branch was seen"
    return NOT_YET, f"merged {ago_text(merged, now)}: it has a day to be deleted"


def _preview(change: Change, now: datetime, has_preview: bool, fails: bool) -> tuple[str, str]:
    if fails:
        return FAILS, "no preview deployment succeeded"
    if change.merged_at is None and not has_preview and change.stage != Stage.CLOSED:
        if change.pull_request is not None and change.pull_request.draft:
            return NOT_YET, "a draft gets its preview once ready for review"
        opened = change.pr_opened_at
        if opened is not None and now - opened <= PREVIEW_GRACE:
            return NOT_YET, f"opened {ago_text(opened, now)}: a preview has {duration(PREVIEW_GRACE)} to deploy"
    return PASSES, "a preview deployment succeeded"


@dataclass(frozen=True)
class _Stage:
    at: datetime | None
    words: str  # "on staging": what a change is once there
    noun: str  # "staging": what it reaches, or is after
    reaching: str = ""  # "reached staging": how it got there ("" says `words`)


def _stuck(
    start: _Stage, reached: _Stage, production_at: datetime | None, now: datetime, minutes: int, fails: bool
) -> tuple[str, str]:
    """The next stage must follow within `minutes`: "not yet" before the first stage; "yes" while it is stuck (the
    derivation's answer, in flight only); "was stuck" once the next stage came after the limit; else "no"."""
    limit = timedelta(minutes=minutes)
    limit_words = f"limit {duration(limit)}"
    if start.at is None:
        return NOT_YET, f"not {start.words} yet"
    stuck_words = f"{start.words} {ago_text(start.at, now)}, not {reached.words}; {limit_words}"
    if fails:
        return FAILS, stuck_words
    moved_on, to = (reached.at, reached) if reached.at is not None else (production_at, None)
    if moved_on is not None:
        took = max(moved_on - start.at, timedelta(0))
        if took > limit:
            how = to.reaching or to.words if to is not None else "reached production"
            return WAS, f"{how} {duration(took)} after {start.noun}, {limit_words}"
        if to is None:
            return PASSES, "in production"
        return PASSES, f"{reached.words} {duration(took)} later, {limit_words}"
    if now - start.at > limit:
        return FAILS, stuck_words  # past the limit; the derivation says so at its next run
    return PASSES, f"{start.words} {ago_text(start.at, now)}, {limit_words}"


def _production(change: Change, fails: bool) -> tuple[str, str]:
    if fails:
        return FAILS, "a production deploy containing it failed"
    if change.production_at is not None:
        return PASSES, "in production"
    if change.merged_at is None:
        return NOT_YET, "not merged yet"
    return NOT_YET, "not deployed to production yet"


def _task(change: Change, fails: bool) -> tuple[str, str]:
    if fails:
        return FAILS, "its branch name and title name no ClickUp task: name it there (PRJ-123, CU-abc123)"
    pr = change.pull_request
    if pr is None:
        return NOT_KNOWN, "no pull request"
    if change.stage == Stage.CLOSED:
        return PASSES, "closed without merging"
    if not names_task(pr.head_ref, pr.title):
        return NOT_YET, "checked at the next derivation: no task named yet"
    return PASSES, "names its task in its branch name or title"
