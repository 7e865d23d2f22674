"""One pull request's life, planned as timestamps first, then played by the simulation.

Merged PRs are planned backwards from their merge time (merge <- approval <- review pickup <- open
<- commits <- branch), so merges can be spread evenly over the history window.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import ops
from .history import Pipeline, Simulation, add_statuses, minutes
from .models import Commit, Deployment, PullRequest, Repository, User
from .names import commit_message, file_names
from .timeline import add_work_minutes, lognormal_minutes, sub_work_minutes
from .world import World

REVIEW_BODIES = {
    "APPROVED": ("LGTM", "Looks good, ship it.", "Nice, thanks!", ""),
    "CHANGES_REQUESTED": ("A few things to address before merging.", "Please add a test for the edge case."),
    "COMMENTED": ("Left a question inline.", "Non-blocking nit inline."),
}


@dataclass(slots=True)
class TimeMode:
    """Work-time arithmetic for history, wall-clock for the scripted tail near ``now``."""

    work: bool = True

    def back(self, t: datetime, mins: float) -> datetime:
        return (sub_work_minutes(t, mins) if self.work else t - minutes(mins)).replace(microsecond=0)

    def fwd(self, t: datetime, mins: float) -> datetime:
        return (add_work_minutes(t, mins) if self.work else t + minutes(mins)).replace(microsecond=0)


@dataclass(slots=True)
class PullPlan:
    role: str
    author: User
    title: str
    branch: str
    commits_before_open: list[datetime]
    opened_at: datetime
    draft: bool = False
    commits_after_open: list[datetime] = field(default_factory=list)
    ready_at: datetime | None = None
    reviews: list[tuple[datetime, User, str]] = field(default_factory=list)
    requested: list[User] = field(default_factory=list)
    end: str = "open"  # "merge" / "close" / "open"
    end_at: datetime | None = None
    merger: User | None = None
    merge_method: str = "squash"
    delete_branch: bool = True
    preview: str = "success"  # "success" / "failure" / "" (no preview environment)
    overrides: dict[str, Any] = field(default_factory=dict)
    pr: PullRequest | None = None
    previews: list[Deployment] = field(default_factory=list)


def _commit_count(rng: random.Random, minimum: int = 1) -> int:
    return max(minimum, rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 18, 10, 7))[0])


def _commit_times(rng: random.Random, mode: TimeMode, last: datetime, count: int) -> list[datetime]:
    times = [last]
    for _ in range(count - 1):
        times.append(mode.back(times[-1], rng.uniform(15, 150)))
    return times[::-1]


def _between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    return (a + (b - a) * rng.uniform(0.3, 0.7)).replace(microsecond=0)


def plan_merged(
    rng: random.Random,
    mode: TimeMode,
    *,
    role: str,
    author: User,
    reviewers: list[User],
    merge_at: datetime,
    title: str,
    branch: str,
) -> PullPlan:
    approver = rng.choice(reviewers)
    after_open: list[datetime] = []
    if role == "long_lived":  # a branch and PR that lived five days
        first = merge_at - timedelta(days=5, hours=rng.uniform(1, 3))
        commits = [first, first + minutes(40), first + minutes(100)]
        opened = first + minutes(120)
        reviews = [(merge_at - minutes(90), approver, "APPROVED")]
        return PullPlan(
            role,
            author,
            title,
            branch,
            commits,
            opened,
            reviews=reviews,
            end="merge",
            end_at=merge_at,
            merger=author,
            commits_after_open=[opened + timedelta(days=2)],
        )
    if role == "no_approval":
        reviews = [(mode.back(merge_at, rng.uniform(10, 60)), approver, "COMMENTED")]
    elif role == "stale_approval":  # approved, then a new commit, merged without re-approval
        reviews = [(mode.back(merge_at, rng.uniform(70, 120)), approver, "APPROVED")]
        after_open.append(mode.back(merge_at, rng.uniform(10, 40)))
    else:
        approve_at = mode.back(merge_at, rng.uniform(3, 90))
        reviews = [(approve_at, approver, "APPROVED")]
        roll = rng.random()
        if roll < 0.15:
            changes_at = mode.back(approve_at, rng.uniform(60, 300))
            reviews.insert(0, (changes_at, approver, "CHANGES_REQUESTED"))
            after_open.append(_between(rng, changes_at, approve_at))
        elif roll < 0.30 and len(reviewers) > 1:
            other = rng.choice([u for u in reviewers if u is not approver])
            reviews.insert(0, (mode.back(approve_at, rng.uniform(5, 120)), other, "COMMENTED"))
    ready_at = mode.back(reviews[0][0], lognormal_minutes(rng, 45, 1.2, 2, 600))
    draft = rng.random() < 0.15
    count = _commit_count(rng, 2 if role == "merge_commit" else 1)
    if draft:
        opened = mode.back(ready_at, rng.uniform(30, 240))
        after_open[:0] = sorted(_between(rng, opened, ready_at) for _ in range(count - 1))
        commits = [mode.back(opened, rng.uniform(3, 40))]
    else:
        opened = ready_at
        commits = _commit_times(rng, mode, mode.back(opened, rng.uniform(3, 40)), count)
    return PullPlan(
        role,
        author,
        title,
        branch,
        commits,
        opened,
        draft=draft,
        commits_after_open=after_open,
        ready_at=ready_at if draft else None,
        reviews=reviews,
        requested=[approver],
        end="merge",
        end_at=merge_at,
        merger=author,
        merge_method="merge" if role == "merge_commit" else "squash",
        delete_branch=role != "branch_kept",
        preview="failure" if role == "no_preview" else "success",
    )


def plan_closed(
    rng: random.Random,
    mode: TimeMode,
    *,
    author: User,
    reviewers: list[User],
    opened: datetime,
    title: str,
    branch: str,
) -> PullPlan:
    commits = _commit_times(rng, mode, mode.back(opened, rng.uniform(3, 40)), _commit_count(rng))
    closed = mode.fwd(opened, rng.uniform(60, 1500))
    reviews = []
    if rng.random() < 0.5:
        reviews.append((_between(rng, opened, closed), rng.choice(reviewers), "CHANGES_REQUESTED"))
    return PullPlan(
        "closed",
        author,
        title,
        branch,
        commits,
        opened,
        reviews=reviews,
        end="close",
        end_at=closed,
        merger=author,
        preview="success" if rng.random() < 0.8 else "failure",
    )


def plan_open(
    rng: random.Random,
    *,
    role: str,
    author: User,
    reviewers: list[User],
    now: datetime,
    title: str,
    branch: str,
) -> PullPlan:
    """The work in flight at ``now`` (wall-clock offsets so the demo looks alive at any hour)."""
    reviewer = rng.choice(reviewers)
    ago: Callable[[float], datetime] = lambda mins: (now - minutes(mins)).replace(microsecond=0)  # noqa: E731
    if role == "open_draft":
        return PullPlan(role, author, title, branch, [ago(175)], ago(150), draft=True, commits_after_open=[ago(60)])
    if role == "open_awaiting":
        return PullPlan(role, author, title, branch, [ago(200), ago(130)], ago(75), requested=[reviewer])
    if role == "open_approved":
        return PullPlan(
            role,
            author,
            title,
            branch,
            [ago(420), ago(330), ago(280)],
            ago(260),
            reviews=[(ago(25), reviewer, "APPROVED")],
            requested=[reviewer],
        )
    if role == "open_stale":  # changes requested three days ago, never addressed
        return PullPlan(
            role, author, title, branch, [ago(4500)], ago(4400), reviews=[(ago(4000), reviewer, "CHANGES_REQUESTED")]
        )
    raise ValueError(role)


class PullPlayer:
    """Schedules a plan's steps on the simulation and performs them through :mod:`ops`."""

    def __init__(
        self, sim: Simulation, world: World, repo: Repository, pipeline: Pipeline, rng: random.Random, language: str
    ) -> None:
        self.sim, self.world, self.repo, self.pipeline, self.rng = sim, world, repo, pipeline, rng
        self.language = language

    def schedule(self, plan: PullPlan) -> None:
        self.sim.at(plan.commits_before_open[0] - self._u(1, 20), self._start, plan)

    def _u(self, low: float, high: float) -> timedelta:
        return minutes(self.rng.uniform(low, high))

    def _commit(self, plan: PullPlan, parent: str, at: datetime, index: int) -> Commit:
        files = file_names(self.rng, self.language, self.rng.randint(1, 4))
        return ops.create_commit(
            self.world,
            self.repo,
            author=plan.author,
            committer=plan.author,
            message=commit_message(self.rng, plan.title, index),
            at=at,
            parents=(parent,),
            additions=self.rng.randint(3, 240),
            deletions=self.rng.randint(0, 80),
            files=files,
        )

    def _start(self, t: datetime, plan: PullPlan) -> None:
        ops.create_branch(self.world, self.repo, plan.branch, self.repo.main_sha, t, plan.author)
        commits: list[Commit] = []
        for i, when in enumerate(plan.commits_before_open):
            if when > self.sim.now:
                break
            commits.append(self._commit(plan, commits[-1].sha if commits else self.repo.main_sha, when, i))
        if commits:
            ops.push(self.world, self.repo, plan.branch, commits, commits[-1].authored_at, plan.author)
        self.sim.at(plan.opened_at, self._open, plan)

    def _open(self, t: datetime, plan: PullPlan) -> None:
        if not self.repo.branches[plan.branch].commits:
            return
        body = f"## Summary\n{plan.title}.\n\n## Testing\nUnit tests and a check on the preview environment."
        plan.pr = ops.open_pull(
            self.world,
            self.repo,
            branch_name=plan.branch,
            author=plan.author,
            title=plan.title,
            body=body,
            at=t,
            draft=plan.draft,
            reviewers=plan.requested,
        )
        self.sim.at(t + self._u(1, 4), self._preview, plan)
        for index, when in enumerate(plan.commits_after_open, start=len(plan.commits_before_open)):
            self.sim.at(when, self._push_more, plan, index)
        if plan.ready_at is not None:
            self.sim.at(plan.ready_at, self._ready, plan)
        for when, reviewer, state in plan.reviews:
            self.sim.at(when, self._review, plan, reviewer, state)
        if plan.end_at is not None:
            self.sim.at(plan.end_at, self._end, plan)

    def _preview(self, t: datetime, plan: PullPlan) -> None:
        pr = plan.pr
        assert pr is not None
        if pr.state != "open" or not plan.preview:
            return
        deployment = ops.create_deployment(
            self.world,
            self.repo,
            ref=pr.head_ref,
            sha=pr.head_sha,
            environment=f"pr-{pr.number}",
            creator=self.world.bot,
            at=t,
            description=f"Preview for #{pr.number}",
            transient=True,
            managed=True,
        )
        plan.previews.append(deployment)
        final = "failure" if plan.preview == "failure" else "success"
        add_statuses(
            self.sim,
            self.world,
            self.repo,
            deployment,
            [
                ("queued", t),
                ("in_progress", t + minutes(0.5)),
                (final, t + self._u(2, 5)),
            ],
            self.world.bot,
            None,
        )

    def _push_more(self, t: datetime, plan: PullPlan, index: int) -> None:
        pr = plan.pr
        if pr is None or pr.state != "open":
            return
        commit = self._commit(plan, pr.head_sha, t, index)
        ops.push(self.world, self.repo, plan.branch, [commit], t, plan.author)
        self.sim.at(t + self._u(1, 4), self._preview, plan)

    def _ready(self, t: datetime, plan: PullPlan) -> None:
        if plan.pr is not None and plan.pr.state == "open":
            ops.ready_for_review(self.world, self.repo, plan.pr, t)

    def _review(self, t: datetime, plan: PullPlan, reviewer: User, state: str) -> None:
        if plan.pr is not None and plan.pr.state == "open":
            body = self.rng.choice(REVIEW_BODIES[state])
            ops.submit_review(self.world, self.repo, plan.pr, reviewer, state, t, body)

    def _end(self, t: datetime, plan: PullPlan) -> None:
        pr = plan.pr
        if pr is None or pr.state != "open":
            return
        merger = plan.merger or plan.author
        if plan.end == "merge":
            landed = ops.merge_pull(
                self.world, self.repo, pr, merger, t, method=plan.merge_method, delete_head=plan.delete_branch
            )
            self.pipeline.on_push(t, landed.sha, merger, pr, plan.overrides)
        else:
            ops.close_pull(self.world, self.repo, pr, t, merger)
        cleanup = t + self._u(1, 3)
        if cleanup <= self.sim.now:
            for deployment in plan.previews:
                if deployment.latest_state == "success":
                    when = max(cleanup, deployment.statuses[-1].created_at + minutes(0.5))
                    if when > self.sim.now:
                        continue
                    ops.add_deployment_status(
                        self.world,
                        self.repo,
                        deployment,
                        "inactive",
                        when,
                        self.world.bot,
                        description="Preview environment removed",
                    )
            ops.remove_environment(self.world, self.repo, f"pr-{pr.number}", cleanup)
