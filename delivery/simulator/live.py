"""Live mode: keep the organization busy in compressed time.

Every ``tick()`` advances each active repository's CI/CD by one step (deployments queued ->
in_progress -> success/failure, staging success -> tag + release -> production) and takes one pull
request step (new branch, open PR, push, review, merge, ...). Every mutation is reported through
``on_event(event_name, action, payload)`` with GitHub's webhook event names. After a rollback goes live in a
repository, the team ships nothing over it to production for ``ROLLBACK_HOLD``, as a real team would.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from . import ops
from .generate import generate_world
from .history import environment_url, run_log_path
from .models import Deployment, PullRequest, Repository, User, WorkflowRun
from .names import commit_message, file_names, pull_title, task_branch
from .world import World

EventCallback = Callable[[str, str | None, dict[str, Any]], None]
RECENT = 60  # only the newest deployments/runs can still be in flight
RUN_FILES = {"staging": "deploy-staging.yml", "production": "deploy-production.yml"}
# The staging run checks staging for this many ticks after a successful deploy before it tags the release (a
# minute at the demo's pace): with the tag made in the same tick, a change spent no time "On staging".
STAGING_CHECK_TICKS = 3
VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
# After a rollback went live in production, the team holds that repository's production deploys this long (as a
# real team would: it looks into what went wrong before shipping over the rollback); staging and tags go on.
ROLLBACK_HOLD = timedelta(minutes=10)


def load_or_generate(state_file: str | Path | None, **generate_kwargs: Any) -> World:
    """The world saved in ``state_file`` if there is one, else a new one (saved there)."""
    if state_file is not None and Path(state_file).exists():
        return World.load(state_file)
    world = generate_world(**generate_kwargs)
    if state_file is not None:
        world.save(state_file)
    return world


class LiveActivity:
    def __init__(
        self,
        world: World,
        interval: float = 20.0,
        on_event: EventCallback | None = None,
        state_file: str | Path | None = None,
        failure_rate: float = 0.05,
    ) -> None:
        self.world = world
        self.interval = interval
        self.on_event = on_event
        self.state_file = Path(state_file) if state_file else None
        self.failure_rate = failure_rate
        self.ticks = 0
        self.rng = random.Random(f"live:{world.seed}")  # noqa: S311 - a simulation, not cryptography
        self._recorded: list[dict[str, Any]] | None = None
        self.staging_checks: dict[tuple[str, str], int] = {}  # (repository, sha) -> tick its staging deploy succeeded
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        world.listeners.append(self._listen)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LiveActivity:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="github-simulator-live", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def close(self) -> None:
        """Stop and unsubscribe from the world's events."""
        self.stop()
        if self._listen in self.world.listeners:
            self.world.listeners.remove(self._listen)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def _listen(self, event: str, action: str | None, payload: dict[str, Any]) -> None:
        if self._recorded is not None:
            self._recorded.append(
                {"event": event, "action": action, "repository": payload.get("repository", {}).get("full_name")}
            )
        if self.on_event is not None:
            self.on_event(event, action, payload)

    # -- one step --------------------------------------------------------------------------------
    def tick(self) -> list[dict[str, Any]]:
        """Advance everything one step now; returns what happened (event, action, repository)."""
        with self.world.lock:
            self._recorded = []
            try:
                self.world.advance()
                self.ticks += 1
                for repo in self.world.served_repos:
                    if not repo.archived:
                        _RepoStep(self, repo).run()
                events = self._recorded
            finally:
                self._recorded = None
            if self.state_file is not None:
                self.world.save(self.state_file)
        return events


class _RepoStep:
    """One tick's worth of activity in one repository."""

    def __init__(self, live: LiveActivity, repo: Repository) -> None:
        self.live, self.world, self.repo, self.rng = live, live.world, repo, live.rng
        self.now = self.world.clock()
        self.bot = self.world.bot
        # The simulated team: every member but the people who signed in to Trunkline (they act for themselves).
        self.devs = [u for u in self.world.members if self.world.is_simulated(u)]

    def run(self) -> None:
        self._advance_deployments()
        self._pipeline()
        self._pull_request_step()

    # -- helpers ---------------------------------------------------------------------------------
    def _recent_deployments(self) -> list[Deployment]:
        return list(self.repo.deployments.values())[-RECENT:]

    def _recent_run(self, file_name: str, sha: str, states: tuple[str, ...]) -> WorkflowRun | None:
        for run in list(self.repo.runs.values())[-RECENT:][::-1]:
            if run.workflow.file_name == file_name and run.head_sha == sha and run.status in states:
                return run
        return None

    def _workflow(self, file_name: str) -> Any:
        return self.repo.workflow_by_file(file_name)

    def _fails(self, switch: str) -> bool:
        if self.world.switches.get(switch):
            self.world.switches[switch] = False
            return True
        return self.rng.random() < self.live.failure_rate

    def _status(self, deployment: Deployment, state: str, run: WorkflowRun | None) -> None:
        ops.add_deployment_status(
            self.world,
            self.repo,
            deployment,
            state,
            self.now,
            self.bot,
            log_url=run_log_path(self.world, self.repo, run),
            environment_url=environment_url(self.world, self.repo, deployment.environment)
            if state == "success"
            else "",
            description={
                "queued": "Deployment queued",
                "in_progress": "Deploying",
                "success": "Deployed",
                "failure": "Deployment failed",
            }[state],
        )

    # -- CI/CD -----------------------------------------------------------------------------------
    def _advance_deployments(self) -> None:
        for deployment in self._recent_deployments():
            if not deployment.managed or deployment.latest_state not in ("queued", "in_progress"):
                continue
            run_file = RUN_FILES.get(deployment.environment)
            run = self._recent_run(run_file, deployment.sha, ("in_progress",)) if run_file else None
            if deployment.latest_state == "queued":
                self._status(deployment, "in_progress", run)
                continue
            switch = f"fail_next_{deployment.environment}_deploy"
            failed = (
                self._fails(switch)
                if deployment.environment in ("staging", "production")
                else self.rng.random() < self.live.failure_rate / 2
            )
            self._status(deployment, "failure" if failed else "success", run)
            if deployment.environment == "staging" and run is not None and failed:
                ops.set_run_status(self.world, self.repo, run, "completed", self.now, "failure")
            if deployment.environment == "production" and run is not None:
                conclusion = "failure" if failed else "success"
                ops.set_run_status(self.world, self.repo, run, "completed", self.now, conclusion)

    def _pipeline(self) -> None:
        recent = self._recent_deployments()
        staging = [d for d in recent if d.environment == "staging" and d.managed]
        production = [d for d in recent if d.environment == "production"]
        # staging succeeded but not tagged yet: the staging run checks staging for a while (no other deploy to
        # staging meanwhile), then tags it and finishes
        checking = False
        if staging and staging[-1].latest_state == "success":
            sha = staging[-1].sha
            run = self._recent_run("deploy-staging.yml", sha, ("in_progress",))
            if run is not None and not any(t.sha == sha for t in self.repo.tags.values()):
                since = self.live.staging_checks.setdefault((self.repo.name, sha), self.live.ticks)
                if self.live.ticks - since >= STAGING_CHECK_TICKS:
                    del self.live.staging_checks[(self.repo.name, sha)]
                    self._tag(sha, run)
                    return
                checking = True
        busy = checking or any(d.latest_state in ("queued", "in_progress") for d in staging)
        head = self.repo.main_sha
        if not busy and all(d.sha != head for d in staging):
            run = self._recent_run("deploy-staging.yml", head, ("queued", "waiting")) or ops.create_run(
                self.world,
                self.repo,
                self._workflow("deploy-staging.yml"),
                event="push",
                head_branch=self.repo.default_branch,
                head_sha=head,
                actor=self.bot,
                at=self.now,
                display_title=self.repo.commits[head].message.splitlines()[0],
            )
            ops.set_run_status(self.world, self.repo, run, "in_progress", self.now)
            ci = self._recent_run("ci.yml", head, ("in_progress", "queued"))
            if ci is not None:
                ops.set_run_status(self.world, self.repo, ci, "completed", self.now, "success")
            deployment = ops.create_deployment(
                self.world,
                self.repo,
                ref=self.repo.default_branch,
                sha=head,
                environment="staging",
                creator=self.bot,
                at=self.now,
                description=f"Deploy {head[:7]} to staging",
                managed=True,
            )
            self._status(deployment, "queued", run)
        latest = self._latest_version_tag()
        if latest is None or any(d.latest_state in ("queued", "in_progress") for d in production):
            return
        if self._holding_after_rollback(production):
            return
        if any(d.ref == latest.name for d in production):
            return
        run = self._recent_run("deploy-production.yml", latest.sha, ("waiting", "queued")) or ops.create_run(
            self.world,
            self.repo,
            self._workflow("deploy-production.yml"),
            event="push",
            head_branch=latest.name,
            head_sha=latest.sha,
            actor=self.bot,
            at=self.now,
            display_title=latest.name,
        )
        ops.set_run_status(self.world, self.repo, run, "in_progress", self.now)
        deployment = ops.create_deployment(
            self.world,
            self.repo,
            ref=latest.name,
            sha=latest.sha,
            environment="production",
            creator=self.bot,
            at=self.now,
            description=f"Deploy {latest.name} to production",
            production=True,
            managed=True,
        )
        self._status(deployment, "queued", run)

    def _holding_after_rollback(self, production: list[Deployment]) -> bool:
        """Whether the newest production deploy that succeeded is a rollback, live for less than ROLLBACK_HOLD."""
        for deployment in reversed(production):
            success = next((s for s in deployment.statuses if s.state == "success"), None)
            if success is None:
                continue
            return _is_rollback(deployment) and self.now - success.created_at < ROLLBACK_HOLD
        return False

    def _latest_version_tag(self) -> Any:
        for tag in reversed(self.repo.tags.values()):
            if VERSION.match(tag.name) and tag.sha in self.repo.commits:
                return tag
        return None

    def _tag(self, sha: str, run: WorkflowRun) -> None:
        latest = self._latest_version_tag()
        major, minor, patch = (int(x) for x in VERSION.match(latest.name).groups()) if latest else (0, 1, 0)  # type: ignore[union-attr]
        tag = ops.create_tag(self.world, self.repo, f"v{major}.{minor}.{patch + 1}", sha, self.now, self.bot)
        ops.create_release(self.world, self.repo, tag, self.bot, self.now, "## What's changed\n- See commits")
        ops.set_run_status(self.world, self.repo, run, "completed", self.now, "success")
        ops.create_run(
            self.world,
            self.repo,
            self._workflow("deploy-production.yml"),
            event="push",
            head_branch=tag.name,
            head_sha=sha,
            actor=self.bot,
            at=self.now,
            display_title=tag.name,
            status="waiting",
        )

    # -- pull requests ---------------------------------------------------------------------------
    def _pull_request_step(self) -> None:
        open_prs = [p for p in self.repo.pulls.values() if p.state == "open"][-12:]
        with_pr = {p.head_ref for p in open_prs}
        lonely = [
            b
            for b in self.repo.branches.values()
            if b.name != self.repo.default_branch
            and b.name not in with_pr
            and b.commits
            and self.world.is_simulated(self.repo.commits[b.commits[0]].author or self.bot)
        ]
        options: list[tuple[float, Callable[[], None]]] = []
        if len(open_prs) + len(lonely) < 6 and self.devs:
            options.append((1.0, self._new_branch))
        for branch in lonely[-3:]:
            options.append((2.0, lambda b=branch: self._open(b.name)))  # type: ignore[misc]
        for pr in open_prs:
            state = _review_state(pr)
            own = self.world.is_simulated(pr.user)  # else a person who signed in: their moves are theirs
            if pr.draft:
                if own:
                    options.append((1.0, lambda p=pr: ops.ready_for_review(self.world, self.repo, p, self.now)))  # type: ignore[misc]
            elif state == "approved":
                options.append((3.0, lambda p=pr: self._merge(p)))  # type: ignore[misc]
            elif state == "changes_requested":
                if own:
                    options.append((1.5, lambda p=pr: self._push(p.head_ref, p.user, fix=True)))  # type: ignore[misc]
            elif pr.user.is_member:
                options.append((1.5, lambda p=pr: self._review(p)))  # type: ignore[misc]
        if not options:
            return
        weights, actions = zip(*options, strict=True)
        self.rng.choices(actions, weights=weights)[0]()

    def _new_branch(self) -> None:
        author = self.rng.choice(self.devs)
        title = pull_title(self.rng)
        name = task_branch(author.login, title)
        while name in self.repo.branches:
            name += "-2"
        ops.create_branch(self.world, self.repo, name, self.repo.main_sha, self.now, author)
        self._push(name, author, fix=False, title=title)

    def _push(self, branch_name: str, author: User, fix: bool, title: str | None = None) -> None:
        branch = self.repo.branches.get(branch_name)
        if branch is None:
            return
        message = "Address review comments" if fix else title or commit_message(self.rng, branch_name, 1)
        commit = ops.create_commit(
            self.world,
            self.repo,
            author=author,
            committer=author,
            message=message,
            at=self.now,
            parents=(branch.sha,),
            additions=self.rng.randint(3, 200),
            deletions=self.rng.randint(0, 60),
            files=file_names(self.rng, self.repo.language, 2),
        )
        ops.push(self.world, self.repo, branch_name, [commit], self.now, author)
        pr = ops.open_pull_for_branch(self.repo, branch_name)
        if pr is not None:
            self._preview(pr)

    def _open(self, branch_name: str) -> None:
        branch = self.repo.branches[branch_name]
        first = self.repo.commits[branch.commits[0]]
        author = first.author or self.rng.choice(self.devs)
        # Anyone may be asked to review, people who signed in too (asking is not acting as them).
        members = self.world.members
        reviewer = self.rng.choice([d for d in members if d is not author] or members)
        pr = ops.open_pull(
            self.world,
            self.repo,
            branch_name=branch_name,
            author=author,
            title=first.message.splitlines()[0],
            body="Opened by the live simulator.",
            at=self.now,
            draft=self.rng.random() < 0.2,
            reviewers=[reviewer],
        )
        self._preview(pr)

    def _preview(self, pr: PullRequest) -> None:
        deployment = ops.create_deployment(
            self.world,
            self.repo,
            ref=pr.head_ref,
            sha=pr.head_sha,
            environment=f"pr-{pr.number}",
            creator=self.bot,
            at=self.now,
            description=f"Preview for #{pr.number}",
            transient=True,
            managed=True,
        )
        self._status(deployment, "queued", None)

    def _review(self, pr: PullRequest) -> None:
        candidates = [d for d in self.devs if d is not pr.user]
        if not candidates:
            return
        asked = [u for u in pr.requested_reviewers if u in candidates]
        reviewer = asked[0] if asked else self.rng.choice(candidates)
        state = "APPROVED" if self.rng.random() < 0.75 else "CHANGES_REQUESTED"
        body = "LGTM" if state == "APPROVED" else "A few things to address before merging."
        ops.submit_review(self.world, self.repo, pr, reviewer, state, self.now, body)

    def _merge(self, pr: PullRequest) -> None:
        merger = pr.user if pr.user is not None and pr.user in self.devs else self.rng.choice(self.devs or [self.bot])
        landed = ops.merge_pull(self.world, self.repo, pr, merger, self.now)  # type: ignore[arg-type]  # a world has its bot
        ops.create_run(
            self.world,
            self.repo,
            self._workflow("ci.yml"),
            event="push",
            head_branch=self.repo.default_branch,
            head_sha=landed.sha,
            actor=merger,
            at=self.now,
            display_title=pr.title,
            status="in_progress",
        )
        for run in list(self.repo.runs.values())[-RECENT:]:
            if run.workflow.file_name == "deploy-staging.yml" and run.status == "queued":
                ops.set_run_status(self.world, self.repo, run, "completed", self.now, "cancelled")
        ops.create_run(
            self.world,
            self.repo,
            self._workflow("deploy-staging.yml"),
            event="push",
            head_branch=self.repo.default_branch,
            head_sha=landed.sha,
            actor=merger,
            at=self.now,
            display_title=pr.title,
        )
        for deployment in self._recent_deployments():
            if deployment.environment == f"pr-{pr.number}" and deployment.latest_state == "success":
                ops.add_deployment_status(
                    self.world,
                    self.repo,
                    deployment,
                    "inactive",
                    self.now,
                    self.bot,
                    description="Preview environment removed",
                )
        ops.remove_environment(self.world, self.repo, f"pr-{pr.number}", self.now)


def _is_rollback(deployment: Deployment) -> bool:
    """A rollback's deployment: dispatched by the rollback workflow, or created through the API by Trunkline."""
    payload = deployment.payload if isinstance(deployment.payload, dict) else {}
    return bool(
        payload.get("rollback")
        or payload.get("trunkline_rollback")
        or deployment.description.lower().startswith("rollback")
    )


def _review_state(pr: PullRequest) -> str:
    """ "approved" / "changes_requested" at the current head, else "pending"."""
    latest: dict[int, str] = {}
    for review in pr.reviews:
        if review.user is not None and review.state in ("APPROVED", "CHANGES_REQUESTED"):
            latest[review.user.id] = review.state if review.commit_id == pr.head_sha else "STALE"
    states = set(latest.values())
    if "CHANGES_REQUESTED" in states:
        return "changes_requested"
    return "approved" if "APPROVED" in states else "pending"
