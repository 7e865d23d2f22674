"""Every mutation of the world, shared by the history generator, live mode and the POST endpoints.

Each operation takes explicit timestamps, keeps indexes and ``updated_at``s right, bumps the
repository's version (query caches) and reports the change through ``world.emit`` with GitHub's
webhook event name. Payloads are minimal identifiers for now; webhook delivery renders full ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import (
    Branch,
    Commit,
    Deployment,
    DeploymentStatus,
    Environment,
    PullRequest,
    Release,
    Repository,
    Review,
    Tag,
    User,
    Workflow,
    WorkflowRun,
)
from .world import World

FINAL_DEPLOYMENT_STATES = frozenset({"success", "failure", "error", "inactive"})


def _base(world: World, repo: Repository, sender: User | None, action: str) -> dict[str, Any]:
    return {
        "action": action,
        "repository": {"id": repo.id, "name": repo.name, "full_name": f"{world.org_login}/{repo.name}"},
        "organization": {"id": world.org.id, "login": world.org_login},
        "sender": None if sender is None else {"id": sender.id, "login": sender.login},
    }


def _emit(world: World, event: str, action: str, repo: Repository, sender: User | None, **extra: Any) -> None:
    if not world.listeners:
        return

    def build() -> dict[str, Any]:
        payload = _base(world, repo, sender, action)
        payload.update(extra)
        return payload

    world.emit(event, action, build)


def _pull_ref(pr: PullRequest) -> dict[str, Any]:
    return {
        "id": pr.id,
        "number": pr.number,
        "state": pr.state,
        "draft": pr.draft,
        "merged": pr.merged,
        "head": {"ref": pr.head_ref, "sha": pr.head_sha},
        "merge_commit_sha": pr.merge_commit_sha,
    }


# -- git ----------------------------------------------------------------------------------------
def create_commit(
    world: World,
    repo: Repository,
    *,
    author: User | None,
    message: str,
    at: datetime,
    parents: tuple[str, ...],
    committer: User | None = None,
    additions: int = 10,
    deletions: int = 2,
    files: tuple[str, ...] = (),
    author_name: str | None = None,
    author_email: str | None = None,
) -> Commit:
    web_flow = committer is None
    commit = Commit(
        sha=world.new_sha(repo.name),
        message=message,
        author=None if author is None or author.deleted else author,
        author_name=author_name or (author.name if author else "Unknown"),
        author_email=author_email or (author.email if author else "unknown@example.com"),
        authored_at=at,
        committer_name="GitHub" if web_flow else committer.name,  # type: ignore[union-attr]
        committer_email="noreply@github.com" if web_flow else committer.email,  # type: ignore[union-attr]
        committed_at=at,
        parents=parents,
        tree_sha=world.new_sha("tree"),
        additions=additions,
        deletions=deletions,
        files=files,
        committer=None if committer is None or committer.deleted else committer,
    )
    repo.commits[commit.sha] = commit
    world.touch(repo)
    return commit


def create_branch(world: World, repo: Repository, name: str, sha: str, at: datetime, sender: User | None) -> Branch:
    branch = Branch(name=name, sha=sha, created_at=at)
    repo.branches[name] = branch
    world.touch(repo, at)
    _emit(world, "create", "created", repo, sender, ref=name, ref_type="branch", master_branch=repo.default_branch)
    return branch


def delete_branch(world: World, repo: Repository, name: str, at: datetime, sender: User | None) -> None:
    if repo.branches.pop(name, None) is None:
        return
    world.touch(repo, at)
    _emit(world, "delete", "deleted", repo, sender, ref=name, ref_type="branch")


def open_pull_for_branch(repo: Repository, branch_name: str) -> PullRequest | None:
    for pr in reversed(repo.pulls.values()):
        if pr.state == "open" and pr.head_ref == branch_name:
            return pr
    return None


def push(
    world: World, repo: Repository, branch_name: str, commits: list[Commit], at: datetime, sender: User | None,
) -> None:
    """Move a branch forward by ``commits`` (oldest first); an open PR on it is synchronized."""
    branch = repo.branches[branch_name]
    before = branch.sha
    branch.sha = commits[-1].sha
    if branch_name != repo.default_branch:
        branch.commits.extend(c.sha for c in commits)
    if at > repo.pushed_at:
        repo.pushed_at = at
    world.touch(repo, at)
    _emit(
        world, "push", "pushed", repo, sender,
        ref=f"refs/heads/{branch_name}", before=before, after=branch.sha, commits=[{"id": c.sha} for c in commits],
    )
    pr = open_pull_for_branch(repo, branch_name) if branch_name != repo.default_branch else None
    if pr is not None:
        pr.head_sha = branch.sha
        pr.commit_shas.extend(c.sha for c in commits)
        pr.additions += sum(c.additions for c in commits)
        pr.deletions += sum(c.deletions for c in commits)
        pr.updated_at = at
        _emit(world, "pull_request", "synchronize", repo, sender, number=pr.number, pull_request=_pull_ref(pr))


# -- pull requests ------------------------------------------------------------------------------
def open_pull(
    world: World, repo: Repository, *, branch_name: str, author: User, title: str, body: str, at: datetime,
    draft: bool = False, reviewers: list[User] | None = None,
) -> PullRequest:
    branch = repo.branches[branch_name]
    commits = [repo.commits[s] for s in branch.commits]
    base_sha = commits[0].parents[0] if commits and commits[0].parents else repo.main_sha
    pr = PullRequest(
        id=world.next_id("pull"), number=repo.next_number, title=title, body=body, user=author,
        head_ref=branch_name, head_sha=branch.sha, base_ref=repo.default_branch, base_sha=base_sha,
        created_at=at, updated_at=at, draft=draft, commit_shas=list(branch.commits),
        requested_reviewers=list(reviewers or []),
        additions=sum(c.additions for c in commits), deletions=sum(c.deletions for c in commits),
        changed_files=len({f for c in commits for f in c.files}) or 1,
    )
    repo.next_number += 1
    repo.pulls[pr.number] = pr
    world.touch(repo)
    _emit(world, "pull_request", "opened", repo, author, number=pr.number, pull_request=_pull_ref(pr))
    return pr


def ready_for_review(world: World, repo: Repository, pr: PullRequest, at: datetime) -> None:
    pr.draft = False
    pr.ready_at = at
    pr.updated_at = at
    world.touch(repo)
    _emit(world, "pull_request", "ready_for_review", repo, pr.user, number=pr.number, pull_request=_pull_ref(pr))


def submit_review(
    world: World, repo: Repository, pr: PullRequest, reviewer: User, state: str, at: datetime, body: str = "",
) -> Review:
    review = Review(
        id=world.next_id("review"), user=reviewer, state=state, body=body, commit_id=pr.head_sha, submitted_at=at,
    )
    pr.reviews.append(review)
    pr.requested_reviewers = [u for u in pr.requested_reviewers if u is not reviewer]
    pr.updated_at = at
    world.touch(repo)
    _emit(
        world, "pull_request_review", "submitted", repo, reviewer,
        review={"id": review.id, "state": state.lower(), "commit_id": review.commit_id},
        pull_request=_pull_ref(pr),
    )
    return review


def merge_pull(
    world: World, repo: Repository, pr: PullRequest, merger: User, at: datetime, *, method: str = "squash",
    delete_head: bool = True,
) -> Commit:
    """Land a PR on the default branch: one squash commit, or the branch commits plus a merge commit."""
    main = repo.branches[repo.default_branch]
    if method == "squash":
        message = f"{pr.title} (#{pr.number})\n\n" + "\n".join(
            f"* {repo.commits[s].message.splitlines()[0]}" for s in pr.commit_shas
        )
        landed = create_commit(
            world, repo, author=pr.user, message=message, at=at, parents=(main.sha,),
            additions=pr.additions, deletions=pr.deletions,
            files=tuple(sorted({f for s in pr.commit_shas for f in repo.commits[s].files})),
            author_name=pr.user.name, author_email=pr.user.email,
        )
    else:
        landed = create_commit(
            world, repo, author=merger, message=f"Merge pull request #{pr.number} from {world.org_login}/{pr.head_ref}"
            f"\n\n{pr.title}", at=at, parents=(main.sha, pr.head_sha), additions=0, deletions=0,
        )
    pr.state = "closed"
    pr.merged_at = pr.closed_at = pr.updated_at = at
    pr.merged_by = merger
    pr.merge_commit_sha = landed.sha
    pr.merge_method = method
    pr.requested_reviewers = []
    _emit(world, "pull_request", "closed", repo, merger, number=pr.number, pull_request=_pull_ref(pr))
    push(world, repo, repo.default_branch, [landed], at, merger)
    if delete_head:
        delete_branch(world, repo, pr.head_ref, at, merger)
    return landed


def close_pull(
    world: World, repo: Repository, pr: PullRequest, at: datetime, sender: User, delete_head: bool = True,
) -> None:
    pr.state = "closed"
    pr.closed_at = pr.updated_at = at
    pr.requested_reviewers = []
    world.touch(repo)
    _emit(world, "pull_request", "closed", repo, sender, number=pr.number, pull_request=_pull_ref(pr))
    if delete_head:
        delete_branch(world, repo, pr.head_ref, at, sender)


# -- tags & releases ----------------------------------------------------------------------------
def create_tag(
    world: World, repo: Repository, name: str, sha: str, at: datetime, sender: User | None,
    object_sha: str | None = None, object_type: str = "commit",
) -> Tag:
    tag = Tag(name=name, sha=sha, created_at=at, object_sha=object_sha or sha, object_type=object_type)
    repo.tags[name] = tag
    world.touch(repo, at)
    _emit(world, "create", "created", repo, sender, ref=name, ref_type="tag", master_branch=repo.default_branch)
    _emit(world, "push", "pushed", repo, sender, ref=f"refs/tags/{name}", before="0" * 40, after=tag.object_sha,
          commits=[])
    return tag


def create_release(world: World, repo: Repository, tag: Tag, author: User | None, at: datetime, body: str) -> Release:
    release = Release(
        id=world.next_id("release"), tag_name=tag.name, name=tag.name, body=body, author=author,
        target_commitish=repo.default_branch, created_at=at, published_at=at,
    )
    repo.releases.append(release)
    world.touch(repo)
    _emit(world, "release", "published", repo, author, release={"id": release.id, "tag_name": tag.name})
    return release


# -- deployments --------------------------------------------------------------------------------
def ensure_environment(world: World, repo: Repository, name: str, at: datetime) -> Environment:
    env = repo.environments.get(name)
    if env is None:
        env = Environment(id=world.next_id("environment"), name=name, created_at=at, updated_at=at)
        repo.environments[name] = env
    return env


def remove_environment(world: World, repo: Repository, name: str, at: datetime) -> None:
    if repo.environments.pop(name, None) is not None:
        world.touch(repo)


def create_deployment(
    world: World, repo: Repository, *, ref: str, sha: str, environment: str, creator: User | None, at: datetime,
    task: str = "deploy", description: str = "", payload: dict[str, Any] | None = None, transient: bool = False,
    production: bool = False, managed: bool = False,
) -> Deployment:
    deployment = Deployment(
        id=world.next_id("deployment"), sha=sha, ref=ref, task=task, environment=environment,
        description=description, creator=creator, created_at=at, updated_at=at, payload=dict(payload or {}),
        original_environment=environment, transient_environment=transient, production_environment=production,
        managed=managed,
    )
    repo.deployments[deployment.id] = deployment
    ensure_environment(world, repo, environment, at)
    world.touch(repo)
    _emit(
        world, "deployment", "created", repo, creator,
        deployment={"id": deployment.id, "sha": sha, "ref": ref, "environment": environment, "task": task},
    )
    return deployment


def add_deployment_status(
    world: World, repo: Repository, deployment: Deployment, state: str, at: datetime, creator: User | None, *,
    description: str = "", environment_url: str = "", log_url: str = "", auto_inactive: bool = True,
    environment: str | None = None,
) -> DeploymentStatus:
    if environment and environment != deployment.environment:
        deployment.environment = environment
        ensure_environment(world, repo, environment, at)
    if not environment_url and deployment.statuses:
        environment_url = deployment.statuses[-1].environment_url
    status = DeploymentStatus(
        id=world.next_id("status"), state=state, creator=creator, description=description,
        environment=deployment.environment, created_at=at, target_url=log_url, log_url=log_url,
        environment_url=environment_url,
    )
    deployment.statuses.append(status)
    deployment.updated_at = at
    env = repo.environments.get(deployment.environment)
    if env is not None and at > env.updated_at:
        env.updated_at = at
    live = repo.live_deployments.setdefault(deployment.environment, [])
    if deployment in live and state != "success":
        live.remove(deployment)
    if state == "success":
        if auto_inactive and not deployment.transient_environment and not deployment.production_environment:
            for previous in [d for d in live if d is not deployment]:
                add_deployment_status(world, repo, previous, "inactive", at, creator, auto_inactive=False,
                                      description="Superseded by a newer deployment")
        if deployment not in live:
            live.append(deployment)
    world.touch(repo)
    _emit(
        world, "deployment_status", "created", repo, creator,
        deployment_status={"id": status.id, "state": state, "environment": deployment.environment},
        deployment={"id": deployment.id, "sha": deployment.sha, "ref": deployment.ref,
                    "environment": deployment.environment},
    )
    return status


# -- actions --------------------------------------------------------------------------------------
def create_run(
    world: World, repo: Repository, workflow: Workflow, *, event: str, head_branch: str | None, head_sha: str,
    actor: User | None, at: datetime, display_title: str, status: str = "queued",
    pull_numbers: list[int] | None = None, inputs: dict[str, Any] | None = None,
) -> WorkflowRun:
    workflow.run_count += 1
    run = WorkflowRun(
        id=world.next_id("run"), workflow=workflow, run_number=workflow.run_count, event=event,
        head_branch=head_branch, head_sha=head_sha, actor=actor, display_title=display_title, created_at=at,
        updated_at=at, status=status, run_started_at=at, pull_request_numbers=list(pull_numbers or []),
        inputs=dict(inputs or {}),
    )
    repo.runs[run.id] = run
    world.touch(repo)
    _emit_run(world, repo, run, "requested")
    return run


def set_run_status(
    world: World, repo: Repository, run: WorkflowRun, status: str, at: datetime, conclusion: str | None = None,
) -> None:
    if status == "in_progress" and run.status in ("queued", "waiting"):
        run.run_started_at = at
    run.status = status
    run.conclusion = conclusion if status == "completed" else None
    run.updated_at = at
    world.touch(repo)
    _emit_run(world, repo, run, "completed" if status == "completed" else "in_progress")


def _emit_run(world: World, repo: Repository, run: WorkflowRun, action: str) -> None:
    if not world.listeners:
        return
    _emit(
        world, "workflow_run", action, repo, run.actor,
        workflow_run={"id": run.id, "name": run.workflow.name, "status": run.status, "conclusion": run.conclusion,
                      "head_branch": run.head_branch, "head_sha": run.head_sha, "event": run.event},
        workflow={"id": run.workflow.id, "path": run.workflow.path},
    )
