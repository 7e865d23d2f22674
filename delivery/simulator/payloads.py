"""GitHub's webhook payloads, one builder per event.

:mod:`ops` calls these from ``world.emit`` at the moment of each mutation, so a payload is a snapshot
of that moment (the delivery may leave much later). The shapes follow GitHub's webhook schemas
(``octokit/webhooks``): no ``action`` for ``push``/``create``/``delete``/``ping``, no ``enterprise``
or ``installation`` (these are organization and repository hooks, not a GitHub App).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from .models import (
    Commit,
    Deployment,
    DeploymentStatus,
    Hook,
    PullRequest,
    Release,
    Repository,
    Review,
    Tag,
    User,
    WorkflowRun,
)
from .render import Json, Renderer
from .render_webhook import WebhookRenderer
from .world import World

ZERO_SHA = "0" * 40
ZEN = (
    "Design for failure.", "Keep it logically awesome.", "Speak like a human.", "Encourage flow.",
    "Half measures are as bad as nothing at all.", "Non-blocking is better than blocking.",
    "Favor focus over features.", "Approachable is better than simple.", "Mind your words, they are important.",
    "Anything added dilutes everything else.", "Practicality beats purity.", "Responsive is better than fast.",
    "It's not fully shipped until it's fast.", "Avoid administrative distraction.",
)  # fmt: skip


def emit(world: World, event: str, action: str | None, build: Callable[[Payloads], Json]) -> None:
    """Report a mutation through ``world.emit``; the payload is rendered now, and only if someone listens."""
    if world.listeners:
        world.emit(event, action, lambda: build(for_world(world)))


def for_world(world: World) -> Payloads:
    """The payload builder of ``world``, pointing at its current public URL (kept between emits)."""
    current = world.payload_renderer
    if not isinstance(current, Payloads) or current.base_url != world.public_url:
        current = world.payload_renderer = Payloads(world)
    return current


class Payloads:
    def __init__(self, world: World) -> None:
        self.world = world
        self.base_url = world.public_url
        self.w = WebhookRenderer(Renderer(world, world.public_url))

    def _envelope(self, repo: Repository, sender: User | None, fields: Json, repository: Json | None = None) -> Json:
        data = dict(fields)
        data["repository"] = repository if repository is not None else self.w.repository(repo)
        data["organization"] = self.w.organization()
        data["sender"] = self.w.sender(sender)
        return data

    # -- pull requests ---------------------------------------------------------------------------
    def pull_request(self, action: str, repo: Repository, pr: PullRequest, sender: User | None, **extra: str) -> Json:
        fields = {"action": action, "number": pr.number, "pull_request": self.w.pull(repo, pr), **extra}
        return self._envelope(repo, sender, fields)

    def review(self, repo: Repository, pr: PullRequest, review: Review, sender: User | None) -> Json:
        fields = {
            "action": "submitted",
            "review": self.w.review(repo, pr, review),
            "pull_request": self.w.pull(repo, pr, full=False),  # GitHub sends the simple form here
        }
        return self._envelope(repo, sender, fields)

    # -- refs ------------------------------------------------------------------------------------
    def create(self, repo: Repository, ref: str, ref_type: str, at: datetime, sender: User | None) -> Json:
        fields = {
            "ref": ref, "ref_type": ref_type, "master_branch": repo.default_branch,
            "description": repo.description, "pusher_type": "user",
        }  # fmt: skip
        return self._envelope(repo, sender, fields, self.w.repository(repo, pushed_at=at))

    def delete(self, repo: Repository, ref: str, ref_type: str, at: datetime, sender: User | None) -> Json:
        fields = {"ref": ref, "ref_type": ref_type, "pusher_type": "user"}
        return self._envelope(repo, sender, fields, self.w.repository(repo, pushed_at=at))

    def push(
        self,
        repo: Repository,
        ref: str,
        before: str,
        after: str,
        at: datetime,
        sender: User | None,
        *,
        commits: Sequence[tuple[Commit, bool]] = (),
        head: Commit | None = None,
        base_ref: str | None = None,
    ) -> Json:
        """``commits`` are (commit, distinct) oldest first; ``head`` is what ``after`` is or points to."""
        html = self.w.r.repo_html(repo)
        created, deleted = before == ZERO_SHA, after == ZERO_SHA
        if created:  # what GitHub links for a new ref: everything up to it
            compare = f"{html}/compare/{ref.split('/', 2)[2]}"
        else:
            compare = f"{html}/compare/{before[:12]}...{after[:12]}"
        return {
            "ref": ref, "before": before, "after": after,
            "repository": self.w.repository(repo, pushed_at=at, push_form=True),
            "pusher": self.w.pusher(sender), "organization": self.w.organization(), "sender": self.w.sender(sender),
            "created": created, "deleted": deleted, "forced": False, "base_ref": base_ref, "compare": compare,
            "commits": [self.w.push_commit(repo, commit, distinct) for commit, distinct in commits],
            "head_commit": None if head is None else self.w.push_commit(repo, head, True),
        }  # fmt: skip

    def tag_push(self, repo: Repository, tag: Tag, at: datetime, sender: User | None) -> Json:
        """A new tag: ``after`` is what the ref points at (an annotated tag object's sha), ``head_commit``
        the tagged commit, ``base_ref`` the branch whose tip it is, if any."""
        base = next((f"refs/heads/{b.name}" for b in sorted(repo.branches.values(),
                                                              key=lambda b: b.name != repo.default_branch)
                     if b.sha == tag.sha), None)  # fmt: skip
        return self.push(repo, f"refs/tags/{tag.name}", ZERO_SHA, tag.object_sha, at, sender,
                         head=repo.commits.get(tag.sha), base_ref=base)  # fmt: skip

    # -- delivery --------------------------------------------------------------------------------
    def deployment(self, repo: Repository, deployment: Deployment, sender: User | None) -> Json:
        fields = {
            "action": "created", "deployment": self.w.deployment(repo, deployment),
            # Created through the REST API (or by the simulator's CI), not by a workflow job's environment.
            "workflow": None, "workflow_run": None,
        }  # fmt: skip
        return self._envelope(repo, sender, fields)

    def deployment_status(
        self, repo: Repository, deployment: Deployment, status: DeploymentStatus, sender: User | None
    ) -> Json:
        fields = {
            "action": "created",
            "deployment_status": self.w.deployment_status(repo, deployment, status),
            "deployment": self.w.deployment(repo, deployment),
        }
        return self._envelope(repo, sender, fields)

    def workflow_run(self, action: str, repo: Repository, run: WorkflowRun) -> Json:
        fields = {"action": action, "workflow_run": self.w.run(repo, run),
                  "workflow": self.w.workflow(repo, run.workflow)}  # fmt: skip
        return self._envelope(repo, run.actor, fields)

    def release(self, action: str, repo: Repository, release: Release, sender: User | None) -> Json:
        return self._envelope(repo, sender, {"action": action, "release": self.w.release(repo, release)})

    # -- hooks -----------------------------------------------------------------------------------
    def ping(self, hook: Hook, sender: User | None) -> Json:
        data: Json = {"zen": ZEN[hook.id % len(ZEN)], "hook_id": hook.id, "hook": self.w.hook(hook)}
        if hook.repo is not None:
            data["repository"] = self.w.repository(hook.repo)
        data["organization"] = self.w.organization()
        data["sender"] = self.w.sender(sender)
        return data
