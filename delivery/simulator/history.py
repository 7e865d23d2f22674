"""Discrete-event simulation used to generate history, and the per-repository CI/CD pipeline.

Events run in time order across all repositories, so ids and PR numbers grow with time exactly as
on GitHub. Anything scheduled after ``now`` never happens: that is how work ends up in flight.

Pipeline (per repository, sequential like a GitHub Actions concurrency group): every push to
``main`` runs CI and queues "Deploy staging" (a newer push cancels a queued run, so several merges
can ride one deploy); a successful staging deploy tags ``vX.Y.Z`` and publishes a release; the tag
runs "Deploy production"; a failed production deploy may be rolled back by the "Rollback" workflow
(a new production deployment of the last good tag). A release train (``merges_per_release`` above 1)
skips the staging run of a merge until that many merged pull requests wait for it, so they ship together.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from . import ops
from .models import Deployment, PullRequest, Repository, Tag, User, Workflow, WorkflowRun
from .world import World

Overrides = dict[str, Any]


def minutes(value: float) -> timedelta:
    return timedelta(seconds=round(value * 60))


class Simulation:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self._heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0

    def at(self, t: datetime, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(t, *args)`` at ``t`` -- unless that is in the future."""
        if t > self.now:
            return
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, fn, args))

    def run(self) -> None:
        while self._heap:
            t, _, fn, args = heapq.heappop(self._heap)
            fn(t, *args)


def environment_url(world: World, repo: Repository, environment: str) -> str:
    domain = f"{world.org_login}.test"
    if environment == "production":
        return f"https://{repo.name}.{domain}"
    if environment == "staging":
        return f"https://staging.{repo.name}.{domain}"
    return f"https://{environment}.{repo.name}.preview.{domain}"


def run_log_path(world: World, repo: Repository, run: WorkflowRun | None) -> str:
    """A path on the simulator's own host; the renderer makes it absolute."""
    return f"/{world.org_login}/{repo.name}/actions/runs/{run.id}" if run else ""


def add_statuses(
    sim: Simulation,
    world: World,
    repo: Repository,
    deployment: Deployment,
    steps: list[tuple[str, datetime]],
    creator: User | None,
    run: WorkflowRun | None,
) -> None:
    """Record a deployment's status history up to ``now``."""
    url = environment_url(world, repo, deployment.environment)
    for state, when in steps:
        if when > sim.now:
            return
        ops.add_deployment_status(
            world,
            repo,
            deployment,
            state,
            when,
            creator,
            log_url=run_log_path(world, repo, run),
            environment_url=url if state == "success" else "",
            description={
                "queued": "Deployment queued",
                "in_progress": "Deploying",
                "success": "Deployed",
                "failure": "Deployment failed",
            }.get(state, ""),
        )


class Pipeline:
    def __init__(
        self,
        sim: Simulation,
        world: World,
        repo: Repository,
        rng: random.Random,
        workflows: dict[str, Workflow],
        version: tuple[int, int, int],
        oncall: list[User],
        failure_window: tuple[datetime, datetime],
        merges_per_release: int = 1,
    ) -> None:
        self.sim, self.world, self.repo, self.rng = sim, world, repo, rng
        self.merges_per_release = merges_per_release
        self.workflows = workflows
        self.version = list(version)
        self.oncall = oncall
        self.bot = world.bot
        self.failure_window = failure_window
        self.staging_busy = False
        self.queued_run: WorkflowRun | None = None
        self.untagged: list[PullRequest] = []
        self.prod_busy = False
        self.prod_queue: list[tuple[Tag, WorkflowRun, Overrides]] = []
        self.last_good: Tag | None = None
        self.overrides: dict[str, Overrides] = {}
        self.fail_staging_after: list[datetime] = []
        self.rollback_prod_after: list[datetime] = []
        self.fail_prod_after: list[datetime] = []  # failed production deploys fixed forward, not rolled back

    # -- helpers ---------------------------------------------------------------------------------
    def _u(self, low: float, high: float) -> timedelta:
        return minutes(self.rng.uniform(low, high))

    def _random_failure(self, t: datetime, rate: float) -> bool:
        low, high = self.failure_window
        return low <= t <= high and self.rng.random() < rate

    @staticmethod
    def _forced(deadlines: list[datetime], t: datetime) -> bool:
        if deadlines and deadlines[0] <= t:
            deadlines.pop(0)
            return True
        return False

    def _finish_run(self, t: datetime, run: WorkflowRun, conclusion: str) -> None:
        ops.set_run_status(self.world, self.repo, run, "completed", t, conclusion)

    def next_version(self) -> str:
        name = "v{}.{}.{}".format(*self.version)
        if self.rng.random() < 0.08:
            self.version[1] += 1
            self.version[2] = 0
        else:
            self.version[2] += 1
        return name

    # -- main ------------------------------------------------------------------------------------
    def on_push(self, t: datetime, sha: str, actor: User | None, pr: PullRequest | None, overrides: Overrides) -> None:
        title = pr.title if pr else self.repo.commits[sha].message.splitlines()[0]
        ci = ops.create_run(
            self.world,
            self.repo,
            self.workflows["ci"],
            event="push",
            head_branch=self.repo.default_branch,
            head_sha=sha,
            actor=actor,
            at=t,
            display_title=title,
            status="in_progress",
        )
        ci_minutes = overrides.get("ci_minutes", self.rng.uniform(3, 7))
        self.sim.at(t + minutes(ci_minutes), self._finish_run, ci, "success")
        if pr is not None:
            self.untagged.append(pr)
        if overrides:
            self.overrides[sha] = overrides
        if self.queued_run is not None:
            ops.set_run_status(self.world, self.repo, self.queued_run, "completed", t, "cancelled")
        self.queued_run = ops.create_run(
            self.world,
            self.repo,
            self.workflows["staging"],
            event="push",
            head_branch=self.repo.default_branch,
            head_sha=sha,
            actor=actor,
            at=t,
            display_title=title,
        )
        if not self.staging_busy:
            self.staging_busy = True
            self.sim.at(t + self._u(0.5, 1.5), self._start_staging)

    # -- staging ---------------------------------------------------------------------------------
    def _start_staging(self, t: datetime) -> None:
        run, self.queued_run = self.queued_run, None
        if run is None:
            self.staging_busy = False
            return
        overrides = self.overrides.get(run.head_sha, {})
        if 0 < len(self.untagged) < self.merges_per_release and not overrides:
            # A release train: these merges wait for more to ride the same deploy (the scripted tail never waits).
            self._finish_run(t, run, "skipped")
            self.staging_busy = False
            return
        ops.set_run_status(self.world, self.repo, run, "in_progress", t)
        deployment = ops.create_deployment(
            self.world,
            self.repo,
            ref=self.repo.default_branch,
            sha=run.head_sha,
            environment="staging",
            creator=self.bot,
            at=t + minutes(0.3),
            description=f"Deploy {run.head_sha[:7]} to staging",
            managed=True,
        )
        fail = self._forced(self.fail_staging_after, t) or self._random_failure(t, 0.02)
        done = t + minutes(overrides.get("staging_minutes", self.rng.uniform(4, 9)))
        add_statuses(
            self.sim,
            self.world,
            self.repo,
            deployment,
            [
                ("queued", t + minutes(0.3)),
                ("in_progress", t + minutes(1)),
                ("failure" if fail else "success", done),
            ],
            self.bot,
            run,
        )
        self.sim.at(done, self._staging_done, run, deployment, fail, list(self.untagged), overrides)

    def _staging_done(
        self,
        t: datetime,
        run: WorkflowRun,
        deployment: Deployment,
        fail: bool,
        prs: list[PullRequest],
        overrides: Overrides,
    ) -> None:
        if fail:
            self._finish_run(t + minutes(0.2), run, "failure")
            self._staging_free(t + minutes(0.2))
            return
        tag_at = t + minutes(overrides.get("tag_minutes", self.rng.uniform(0.3, 1.0)))
        self.sim.at(tag_at, self._tag, run, deployment, prs, overrides)

    def _tag(
        self,
        t: datetime,
        run: WorkflowRun,
        deployment: Deployment,
        prs: list[PullRequest],
        overrides: Overrides,
    ) -> None:
        tag = ops.create_tag(self.world, self.repo, self.next_version(), deployment.sha, t, self.bot)
        lines = [f"- {p.title} (#{p.number}) by @{p.user.login}" for p in prs] or ["- Maintenance release"]
        ops.create_release(self.world, self.repo, tag, self.bot, t, "## What's changed\n" + "\n".join(lines))
        shipped = set(map(id, prs))
        self.untagged = [p for p in self.untagged if id(p) not in shipped]
        self._finish_run(t + minutes(0.3), run, "success")
        prod_run = ops.create_run(
            self.world,
            self.repo,
            self.workflows["production"],
            event="push",
            head_branch=tag.name,
            head_sha=tag.sha,
            actor=self.bot,
            at=t + minutes(0.1),
            display_title=tag.name,
            status="waiting",
        )
        self.prod_queue.append((tag, prod_run, overrides))
        self._staging_free(t + minutes(0.3))
        self._maybe_start_production(t + minutes(0.1))

    def _staging_free(self, t: datetime) -> None:
        self.staging_busy = False
        if self.queued_run is not None:
            self.staging_busy = True
            self.sim.at(t + self._u(0.3, 1.0), self._start_staging)

    # -- production ------------------------------------------------------------------------------
    def _maybe_start_production(self, t: datetime) -> None:
        if self.prod_busy or not self.prod_queue:
            return
        tag, run, overrides = self.prod_queue.pop(0)
        self.prod_busy = True
        if "prod_start" in overrides:
            start = overrides["prod_start"]
            if start is None:  # waiting for approval past now
                return
        else:
            wait = self.rng.uniform(1, 8) if self.rng.random() < 0.9 else self.rng.uniform(15, 75)
            start = t + minutes(wait)
        self.sim.at(max(start, t), self._start_production, tag, run)

    def _start_production(self, t: datetime, tag: Tag, run: WorkflowRun) -> None:
        ops.set_run_status(self.world, self.repo, run, "in_progress", t)
        deployment = ops.create_deployment(
            self.world,
            self.repo,
            ref=tag.name,
            sha=tag.sha,
            environment="production",
            creator=self.bot,
            at=t + minutes(0.3),
            description=f"Deploy {tag.name} to production",
            production=True,
            managed=True,
        )
        forced = self._forced(self.rollback_prod_after, t)
        fixed_forward = not forced and self._forced(self.fail_prod_after, t)
        fail = forced or fixed_forward or self._random_failure(t, 0.015)
        done = t + self._u(5, 12)
        add_statuses(
            self.sim,
            self.world,
            self.repo,
            deployment,
            [
                ("queued", t + minutes(0.3)),
                ("in_progress", t + minutes(1)),
                ("failure" if fail else "success", done),
            ],
            self.bot,
            run,
        )
        rollback = forced or (fail and not fixed_forward and self.rng.random() < 0.5)
        self.sim.at(done, self._production_done, tag, run, fail, rollback)

    def _production_done(self, t: datetime, tag: Tag, run: WorkflowRun, fail: bool, rollback: bool) -> None:
        self._finish_run(t + minutes(0.2), run, "failure" if fail else "success")
        if not fail:
            self.last_good = tag
        if fail and rollback and self.last_good is not None:
            self.sim.at(t + self._u(8, 20), self._rollback, self.last_good, tag)
            return
        self._production_free(t + minutes(0.2))

    def _rollback(self, t: datetime, good: Tag, bad: Tag) -> None:
        actor = self.rng.choice(self.oncall)
        run = ops.create_run(
            self.world,
            self.repo,
            self.workflows["rollback"],
            event="workflow_dispatch",
            head_branch=self.repo.default_branch,
            head_sha=self.repo.main_sha,
            actor=actor,
            at=t,
            display_title="Rollback",
            status="in_progress",
            inputs={"tag": good.name},
        )
        deployment = ops.create_deployment(
            self.world,
            self.repo,
            ref=good.name,
            sha=good.sha,
            environment="production",
            creator=self.bot,
            at=t + minutes(0.5),
            description=f"Rollback to {good.name} (from {bad.name})",
            production=True,
            payload={"rollback": True, "from": bad.name},
            managed=True,
        )
        done = t + self._u(3, 6)
        add_statuses(
            self.sim,
            self.world,
            self.repo,
            deployment,
            [
                ("queued", t + minutes(0.5)),
                ("in_progress", t + minutes(1)),
                ("success", done),
            ],
            self.bot,
            run,
        )
        self.sim.at(done, self._rollback_done, run)

    def _rollback_done(self, t: datetime, run: WorkflowRun) -> None:
        self._finish_run(t + minutes(0.2), run, "success")
        self._production_free(t + minutes(0.2))

    def _production_free(self, t: datetime) -> None:
        self.prod_busy = False
        self._maybe_start_production(t)
