"""GitHub-shaped JSON for the objects inside webhook payloads.

Webhook objects are close to the REST ones, so these start from :mod:`render` / :mod:`render_delivery`
and adjust what differs on GitHub: users never carry ``user_view_type``, a person that is gone is the
"ghost" user (webhook schemas allow no null ``user``/``creator``/``sender``), repositories carry
``custom_properties`` but no ``permissions``, and push payloads use the older repository form with
integer ``created_at``/``pushed_at`` timestamps, ``stargazers``, ``master_branch`` and ``organization``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import (
    Commit,
    Deployment,
    DeploymentStatus,
    Hook,
    PullRequest,
    Release,
    Repository,
    Review,
    User,
    Workflow,
    WorkflowRun,
)
from .render import Json, Renderer, iso
from .render_delivery import DeliveryRenderer

# GitHub's order of a webhook repository's fields (what its payload examples show).
REPOSITORY_KEYS = (
    "id", "node_id", "name", "full_name", "private", "owner", "html_url", "description", "fork", "url", "forks_url",
    "keys_url", "collaborators_url", "teams_url", "hooks_url", "issue_events_url", "events_url", "assignees_url",
    "branches_url", "tags_url", "blobs_url", "git_tags_url", "git_refs_url", "trees_url", "statuses_url",
    "languages_url", "stargazers_url", "contributors_url", "subscribers_url", "subscription_url", "commits_url",
    "git_commits_url", "comments_url", "issue_comment_url", "contents_url", "compare_url", "merges_url",
    "archive_url", "downloads_url", "issues_url", "pulls_url", "milestones_url", "notifications_url", "labels_url",
    "releases_url", "deployments_url", "created_at", "updated_at", "pushed_at", "git_url", "ssh_url", "clone_url",
    "svn_url", "homepage", "size", "stargazers_count", "watchers_count", "language", "has_issues", "has_projects",
    "has_downloads", "has_wiki", "has_pages", "has_discussions", "forks_count", "mirror_url", "archived", "disabled",
    "open_issues_count", "license", "allow_forking", "is_template", "web_commit_signoff_required", "topics",
    "visibility", "forks", "open_issues", "watchers", "default_branch",
)  # fmt: skip
# The merge settings GitHub adds to the repositories inside a pull request's head and base.
MERGE_SETTING_KEYS = (
    "allow_squash_merge", "allow_merge_commit", "allow_rebase_merge", "allow_auto_merge", "delete_branch_on_merge",
    "allow_update_branch", "use_squash_pr_title_as_default", "squash_merge_commit_message",
    "squash_merge_commit_title", "merge_commit_message", "merge_commit_title",
)  # fmt: skip
RELEASE_DROPPED = ("immutable", "updated_at")  # REST-only fields of a release
WEB_FLOW_EMAIL = "noreply@github.com"


def epoch(t: datetime) -> int:
    return int(t.timestamp())


class WebhookRenderer:
    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        self.delivery = DeliveryRenderer(renderer)
        self._users: dict[int, Json] = {}

    # -- people ----------------------------------------------------------------------------------
    def user(self, user: User | None) -> Json | None:
        if user is None or user.deleted:
            return None
        cached = self._users.get(user.id)
        if cached is None:
            cached = self._users[user.id] = _strip_user(self.r.user(user))  # type: ignore[arg-type]
        return cached

    def user_or_ghost(self, user: User | None) -> Json:
        return self.user(user) or _strip_user(self.r.ghost())

    def sender(self, user: User | None) -> Json:
        """Who caused the event; the service account when the operation named nobody."""
        return self.user_or_ghost(user or self.r.world.service_account)

    def owner(self) -> Json:
        return _strip_user(self.r.org_as_owner())

    def organization(self) -> Json:
        return self.r.org_simple()

    # -- repositories ----------------------------------------------------------------------------
    def repository(
        self,
        repo: Repository,
        *,
        pushed_at: datetime | None = None,
        push_form: bool = False,
        merge_settings: bool = False,
    ) -> Json:
        """The webhook repository; ``pushed_at`` overrides the time of the last push (a ref change)."""
        rest = self.r.repository(repo)
        data: Json = {key: rest[key] for key in REPOSITORY_KEYS}
        data["owner"] = self.owner()
        if pushed_at is not None:
            data["pushed_at"] = iso(pushed_at)
        if merge_settings:
            data.update({key: rest[key] for key in MERGE_SETTING_KEYS})
        if push_form:
            pushed = pushed_at or repo.pushed_at
            data["owner"] = {"name": self.r.org_login, "email": None, **data["owner"]}
            data["created_at"], data["pushed_at"] = epoch(repo.created_at), epoch(pushed)
            data.update(
                stargazers=rest["stargazers_count"], master_branch=repo.default_branch, organization=self.r.org_login
            )
        data["custom_properties"] = {}
        return data

    # -- pull requests ---------------------------------------------------------------------------
    def pull(self, repo: Repository, pr: PullRequest, *, full: bool = True) -> Json:
        data = dict(self.r.pull(repo, pr, full=full))
        data["user"] = self.user_or_ghost(pr.user)
        data["requested_reviewers"] = [self.user(u) for u in pr.requested_reviewers if not u.deleted]
        repo_json, owner = self.repository(repo, merge_settings=True), self.owner()
        data["head"] = {**data["head"], "user": owner, "repo": repo_json}
        data["base"] = {**data["base"], "user": owner, "repo": repo_json}
        if full:
            data["merged_by"] = self.user(pr.merged_by)
        return data

    def review(self, repo: Repository, pr: PullRequest, review: Review) -> Json:
        data = dict(self.r.review(repo, pr, review))
        data["user"] = self.user_or_ghost(review.user)
        data["state"] = review.state.lower()  # REST says APPROVED, webhooks say approved
        return data

    # -- git -------------------------------------------------------------------------------------
    def push_commit(self, repo: Repository, commit: Commit, distinct: bool = True) -> Json:
        """A commit in a push payload (``commits`` / ``head_commit``)."""
        return {
            "id": commit.sha, "tree_id": commit.tree_sha, "distinct": distinct, "message": commit.message,
            "timestamp": iso(commit.committed_at), "url": f"{self.r.repo_html(repo)}/commit/{commit.sha}",
            "author": _person(commit.author_name, commit.author_email, commit.author),
            "committer": _person(commit.committer_name, commit.committer_email, commit.committer),
            # The simulator knows which files a commit touched, not how: all of them count as modified.
            "added": [], "removed": [], "modified": list(commit.files),
        }  # fmt: skip

    def pusher(self, user: User | None) -> Json:
        user = user or self.r.world.service_account
        if user is None or user.deleted:
            return {"name": "ghost", "email": None}
        return {"name": user.login, "email": user.email}

    # -- delivery --------------------------------------------------------------------------------
    def deployment(self, repo: Repository, deployment: Deployment) -> Json:
        data = dict(self.delivery.deployment(repo, deployment))
        data["creator"] = self.user_or_ghost(deployment.creator)
        return data

    def deployment_status(self, repo: Repository, deployment: Deployment, status: DeploymentStatus) -> Json:
        data = dict(self.delivery.status(repo, deployment, status))
        data["creator"] = self.user_or_ghost(status.creator)
        if not data["log_url"]:  # the webhook schema wants a URI when present; it is optional
            del data["log_url"]
        return data

    def workflow(self, repo: Repository, workflow: Workflow) -> Json:
        return self.delivery.workflow(repo, workflow)

    def run(self, repo: Repository, run: WorkflowRun) -> Json:
        data = dict(self.delivery.run(repo, run))
        lite = {key: value for key, value in data["repository"].items() if key in LITE_KEYS}
        lite["owner"] = self.owner()
        actor = self.user_or_ghost(run.actor)
        data.update(repository=lite, head_repository=lite, actor=actor, triggering_actor=actor)
        return data

    def release(self, repo: Repository, release: Release) -> Json:
        data = {k: v for k, v in self.delivery.release(repo, release).items() if k not in RELEASE_DROPPED}
        data["author"] = self.user_or_ghost(release.author)
        return data

    def hook(self, hook: Hook) -> Json:
        return self.r.repo_hook(hook) if hook.repo is not None else self.r.org_hook(hook)


# A "repository-lite" (workflow runs) is the URL-and-identity part of a repository.
LITE_KEYS = frozenset(REPOSITORY_KEYS[: REPOSITORY_KEYS.index("created_at")])


def _strip_user(data: dict[str, Any]) -> Json:
    return {k: v for k, v in data.items() if k != "user_view_type"}


def _person(name: str, email: str, account: User | None) -> Json:
    """Push-format author/committer: ``username`` only when the e-mail belongs to an account."""
    person: Json = {"name": name, "email": email}
    if account is not None and not account.deleted:
        person["username"] = account.login
    elif email == WEB_FLOW_EMAIL:
        person["username"] = "web-flow"
    return person
