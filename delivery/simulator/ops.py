"""Every mutation of the world, shared by the history generator, live mode and the POST endpoints.

Each operation takes explicit timestamps, keeps indexes and ``updated_at``s right, bumps the
repository's version (query caches) and reports the change through ``world.emit`` with GitHub's
webhook event name and full webhook payload (:mod:`payloads`), rendered at that moment. Git refs,
tags and pull requests live here; releases, deployments and Actions runs in :mod:`ops_delivery`
(re-exported below, so callers keep writing ``ops.create_deployment``).
"""

from __future__ import annotations

from datetime import datetime

from .models import Branch, Commit, PullRequest, Repository, Review, Tag, User
from .ops_delivery import FINAL_DEPLOYMENT_STATES as FINAL_DEPLOYMENT_STATES
from .ops_delivery import add_deployment_status as add_deployment_status
from .ops_delivery import create_deployment as create_deployment
from .ops_delivery import create_release as create_release
from .ops_delivery import create_run as create_run
from .ops_delivery import ensure_environment as ensure_environment
from .ops_delivery import remove_environment as remove_environment
from .ops_delivery import set_run_status as set_run_status
from .payloads import ZERO_SHA, emit
from .world import World


def _ref_changed(world: World, repo: Repository, at: datetime) -> None:
    """Any ref update is a push for GitHub: it moves ``pushed_at`` (and ``updated_at``)."""
    if at > repo.pushed_at:
        repo.pushed_at = at
    world.touch(repo, at)


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
    _ref_changed(world, repo, at)
    emit(world, "create", None, lambda p: p.create(repo, name, "branch", at, sender))
    head = repo.commits.get(sha)
    emit(world, "push", None, lambda p: p.push(repo, f"refs/heads/{name}", ZERO_SHA, sha, at, sender, head=head))
    return branch


def delete_branch(world: World, repo: Repository, name: str, at: datetime, sender: User | None) -> None:
    branch = repo.branches.pop(name, None)
    if branch is None:
        return
    _ref_changed(world, repo, at)
    emit(world, "delete", None, lambda p: p.delete(repo, name, "branch", at, sender))
    emit(world, "push", None, lambda p: p.push(repo, f"refs/heads/{name}", branch.sha, ZERO_SHA, at, sender))


def open_pull_for_branch(repo: Repository, branch_name: str) -> PullRequest | None:
    for pr in reversed(repo.pulls.values()):
        if pr.state == "open" and pr.head_ref == branch_name:
            return pr
    return None


def push(
    world: World,
    repo: Repository,
    branch_name: str,
    commits: list[Commit],
    at: datetime,
    sender: User | None,
    merged: list[Commit] | None = None,
) -> None:
    """Move a branch forward by ``commits`` (oldest first); an open PR on it is synchronized.

    ``merged`` are commits that arrive through a merge commit but were pushed before (to the PR's
    branch): the push payload lists them too, as GitHub does, with ``distinct: false``.
    """
    branch = repo.branches[branch_name]
    before = branch.sha
    branch.sha = commits[-1].sha
    if branch_name != repo.default_branch:
        branch.commits.extend(c.sha for c in commits)
    _ref_changed(world, repo, at)
    listed = [(c, False) for c in merged or ()] + [(c, True) for c in commits]
    ref, after = f"refs/heads/{branch_name}", branch.sha
    emit(world, "push", None, lambda p: p.push(repo, ref, before, after, at, sender, commits=listed, head=commits[-1]))
    pr = open_pull_for_branch(repo, branch_name) if branch_name != repo.default_branch else None
    if pr is not None:
        pr.head_sha = branch.sha
        pr.commit_shas.extend(c.sha for c in commits)
        pr.additions += sum(c.additions for c in commits)
        pr.deletions += sum(c.deletions for c in commits)
        pr.updated_at = at
        emit(
            world,
            "pull_request",
            "synchronize",
            lambda p: p.pull_request("synchronize", repo, pr, sender, before=before, after=after),
        )


# -- pull requests ------------------------------------------------------------------------------
def open_pull(
    world: World,
    repo: Repository,
    *,
    branch_name: str,
    author: User,
    title: str,
    body: str,
    at: datetime,
    draft: bool = False,
    reviewers: list[User] | None = None,
) -> PullRequest:
    branch = repo.branches[branch_name]
    commits = [repo.commits[s] for s in branch.commits]
    base_sha = commits[0].parents[0] if commits and commits[0].parents else repo.main_sha
    pr = PullRequest(
        id=world.next_id("pull"),
        number=repo.next_number,
        title=title,
        body=body,
        user=author,
        head_ref=branch_name,
        head_sha=branch.sha,
        base_ref=repo.default_branch,
        base_sha=base_sha,
        created_at=at,
        updated_at=at,
        draft=draft,
        commit_shas=list(branch.commits),
        requested_reviewers=list(reviewers or []),
        additions=sum(c.additions for c in commits),
        deletions=sum(c.deletions for c in commits),
        changed_files=len({f for c in commits for f in c.files}) or 1,
    )
    repo.next_number += 1
    repo.pulls[pr.number] = pr
    world.touch(repo)
    emit(world, "pull_request", "opened", lambda p: p.pull_request("opened", repo, pr, author))
    return pr


def ready_for_review(world: World, repo: Repository, pr: PullRequest, at: datetime) -> None:
    pr.draft = False
    pr.ready_at = at
    pr.updated_at = at
    world.touch(repo)
    emit(world, "pull_request", "ready_for_review", lambda p: p.pull_request("ready_for_review", repo, pr, pr.user))


def convert_to_draft(world: World, repo: Repository, pr: PullRequest, at: datetime, sender: User) -> None:
    pr.draft = True
    pr.updated_at = at
    world.touch(repo)
    emit(world, "pull_request", "converted_to_draft", lambda p: p.pull_request("converted_to_draft", repo, pr, sender))


def submit_review(
    world: World,
    repo: Repository,
    pr: PullRequest,
    reviewer: User,
    state: str,
    at: datetime,
    body: str = "",
) -> Review:
    review = Review(
        id=world.next_id("review"),
        user=reviewer,
        state=state,
        body=body,
        commit_id=pr.head_sha,
        submitted_at=at,
    )
    pr.reviews.append(review)
    pr.requested_reviewers = [u for u in pr.requested_reviewers if u is not reviewer]
    pr.updated_at = at
    world.touch(repo)
    emit(world, "pull_request_review", "submitted", lambda p: p.review(repo, pr, review, reviewer))
    return review


def merge_pull(
    world: World,
    repo: Repository,
    pr: PullRequest,
    merger: User,
    at: datetime,
    *,
    method: str = "squash",
    delete_head: bool = True,
) -> Commit:
    """Land a PR on the default branch: one squash commit, or the branch commits plus a merge commit."""
    main = repo.branches[repo.default_branch]
    if method == "squash":
        message = f"{pr.title} (#{pr.number})\n\n" + "\n".join(
            f"* {repo.commits[s].message.splitlines()[0]}" for s in pr.commit_shas
        )
        landed = create_commit(
            world,
            repo,
            author=pr.user,
            message=message,
            at=at,
            parents=(main.sha,),
            additions=pr.additions,
            deletions=pr.deletions,
            files=tuple(sorted({f for s in pr.commit_shas for f in repo.commits[s].files})),
            author_name=pr.user.name,
            author_email=pr.user.email,
        )
    else:
        landed = create_commit(
            world,
            repo,
            author=merger,
            message=f"Merge pull request #{pr.number} from {world.org_login}/{pr.head_ref}\n\n{pr.title}",
            at=at,
            parents=(main.sha, pr.head_sha),
            additions=0,
            deletions=0,
        )
    pr.state = "closed"
    pr.merged_at = pr.closed_at = pr.updated_at = at
    pr.merged_by = merger
    pr.merge_commit_sha = landed.sha
    pr.merge_method = method
    pr.requested_reviewers = []
    emit(world, "pull_request", "closed", lambda p: p.pull_request("closed", repo, pr, merger))
    merged = None if method == "squash" else [repo.commits[s] for s in pr.commit_shas]
    push(world, repo, repo.default_branch, [landed], at, merger, merged=merged)
    if delete_head:
        delete_branch(world, repo, pr.head_ref, at, merger)
    return landed


def close_pull(
    world: World,
    repo: Repository,
    pr: PullRequest,
    at: datetime,
    sender: User,
    delete_head: bool = True,
) -> None:
    pr.state = "closed"
    pr.closed_at = pr.updated_at = at
    pr.requested_reviewers = []
    world.touch(repo)
    emit(world, "pull_request", "closed", lambda p: p.pull_request("closed", repo, pr, sender))
    if delete_head:
        delete_branch(world, repo, pr.head_ref, at, sender)


def reopen_pull(world: World, repo: Repository, pr: PullRequest, at: datetime, sender: User) -> None:
    """Reopen a closed, unmerged PR; its branch is restored first if it was deleted (as GitHub asks)."""
    if pr.head_ref not in repo.branches:
        create_branch(world, repo, pr.head_ref, pr.head_sha, at, sender)
        repo.branches[pr.head_ref].commits = list(pr.commit_shas)
    pr.state = "open"
    pr.closed_at = None
    pr.updated_at = at
    world.touch(repo)
    emit(world, "pull_request", "reopened", lambda p: p.pull_request("reopened", repo, pr, sender))


# -- tags -------------------------------------------------------------------------------------
def create_tag(
    world: World,
    repo: Repository,
    name: str,
    sha: str,
    at: datetime,
    sender: User | None,
    object_sha: str | None = None,
    object_type: str = "commit",
) -> Tag:
    tag = Tag(name=name, sha=sha, created_at=at, object_sha=object_sha or sha, object_type=object_type)
    repo.tags[name] = tag
    _ref_changed(world, repo, at)
    emit(world, "create", None, lambda p: p.create(repo, name, "tag", at, sender))
    emit(world, "push", None, lambda p: p.tag_push(repo, tag, at, sender))
    return tag


def delete_tag(world: World, repo: Repository, name: str, at: datetime, sender: User | None) -> None:
    tag = repo.tags.pop(name, None)
    if tag is None:
        return
    _ref_changed(world, repo, at)
    emit(world, "delete", None, lambda p: p.delete(repo, name, "tag", at, sender))
    emit(world, "push", None, lambda p: p.push(repo, f"refs/tags/{name}", tag.object_sha, ZERO_SHA, at, sender))
