"""GitHub-shaped JSON for people, the organization, repositories, pull requests and reviews.

Every URL is absolute and built from the server's own address (GitHub Enterprise layout: the API
under ``/api/v3``, web pages at the root), because PyGithub refuses to follow anything else.
Git objects live in :mod:`render_git`, CI/CD objects in :mod:`render_delivery`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, overload

from .models import Hook, PullRequest, Repository, Review, Team, User
from .world import World

Json = dict[str, Any]
GHOST_ID = 10137
REDACTED = "********"


@overload
def iso(t: datetime) -> str: ...
@overload
def iso(t: datetime | None) -> str | None: ...
def iso(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def node(prefix: str, value: int | str) -> str:
    return f"{prefix}_" + base64.b64encode(f"{prefix}{value}".encode()).decode().rstrip("=")


class Renderer:
    def __init__(self, world: World, base_url: str) -> None:
        self.world = world
        self.base = base_url.rstrip("/")
        self.api = f"{self.base}/api/v3"
        self.org_login = world.org_login
        self._users: dict[int, Json] = {}
        self._repos: dict[int, tuple[int, Json]] = {}

    # -- urls ------------------------------------------------------------------------------------
    def repo_api(self, repo: Repository) -> str:
        return f"{self.api}/repos/{self.org_login}/{repo.name}"

    def repo_html(self, repo: Repository) -> str:
        return f"{self.base}/{self.org_login}/{repo.name}"

    def absolute(self, path_or_url: str) -> str:
        return f"{self.base}{path_or_url}" if path_or_url.startswith("/") else path_or_url

    # -- people ----------------------------------------------------------------------------------
    def user(self, user: User | None) -> Json | None:
        """Simple User; ``None`` for a deleted account."""
        if user is None or user.deleted:
            return None
        cached = self._users.get(user.id)
        if cached is None:
            cached = self._users[user.id] = self._simple_user(user.login, user.id, user.type)
        return cached

    def ghost(self) -> Json:
        return self._simple_user("ghost", GHOST_ID, "User")

    def user_or_ghost(self, user: User | None) -> Json:
        return self.user(user) or self.ghost()

    def _simple_user(self, login: str, user_id: int, kind: str) -> Json:
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": user_id,
            "node_id": node("U", user_id),
            "avatar_url": f"{self.base}/avatars/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.base}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def private_user(self, user: User) -> Json:
        """``GET /user``: the Private User shape."""
        data = dict(self._simple_user(user.login, user.id, user.type))
        data.update(
            {
                "name": user.name,
                "company": "@acme",
                "blog": "",
                "location": user.location,
                "email": user.email,
                "notification_email": user.email,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 3,
                "following": 2,
                "created_at": iso(user.created_at),
                "updated_at": iso(user.created_at),
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 1024,
                "collaborators": 0,
                "two_factor_authentication": True,
                "plan": {"name": "free", "space": 976562499, "collaborators": 0, "private_repos": 10000},
            }
        )
        return data

    def emails(self, user: User) -> list[Json]:
        return [
            {"email": user.email, "primary": True, "verified": True, "visibility": "private"},
            {
                "email": f"{user.id}+{user.login}@users.noreply.acme.test",
                "primary": False,
                "verified": True,
                "visibility": None,
            },
        ]

    def author_association(self, user: User | None) -> str:
        if user is None or user.deleted:
            return "NONE"
        return "MEMBER" if user.is_member else "CONTRIBUTOR"

    # -- organization ----------------------------------------------------------------------------
    def org_simple(self) -> Json:
        org, url = self.world.org, f"{self.api}/orgs/{self.org_login}"
        return {
            "login": org.login,
            "id": org.id,
            "node_id": node("O", org.id),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/u/{org.id}?v=4",
            "description": org.description,
        }

    def org_full(self) -> Json:
        org = self.world.org
        data = self.org_simple()
        repos = len(self.world.repos)
        data.update(
            {
                "name": org.name,
                "company": org.name,
                "blog": "https://acme.test",
                "location": "Europe",
                "email": f"engineering@{org.login}.test",
                "twitter_username": None,
                "is_verified": False,
                "has_organization_projects": True,
                "has_repository_projects": True,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "html_url": f"{self.base}/{org.login}",
                "type": "Organization",
                "total_private_repos": repos,
                "owned_private_repos": repos,
                "created_at": iso(org.created_at),
                "updated_at": iso(org.updated_at),
                "archived_at": None,
                "members_can_create_repositories": False,
                "two_factor_requirement_enabled": True,
            }
        )
        return data

    def org_as_owner(self) -> Json:
        data = dict(self._simple_user(self.org_login, self.world.org.id, "Organization"))
        data["node_id"] = node("O", self.world.org.id)
        return data

    def membership(self, user: User) -> Json:
        return {
            "url": f"{self.api}/orgs/{self.org_login}/memberships/{user.login}",
            "state": "active",
            "role": user.role or "admin",
            "organization_url": f"{self.api}/orgs/{self.org_login}",
            "organization": self.org_simple(),
            "user": self.user(user),
        }

    def team(self, team: Team) -> Json:
        url = f"{self.api}/organizations/{self.world.org.id}/team/{team.id}"
        return {
            "id": team.id,
            "node_id": node("T", team.id),
            "url": url,
            "html_url": f"{self.base}/orgs/{self.org_login}/teams/{team.slug}",
            "name": team.name,
            "slug": team.slug,
            "description": team.description,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": f"{url}/members{{/member}}",
            "repositories_url": f"{url}/repos",
            "parent": None,
            "type": "organization",
            "organization_id": self.world.org.id,
        }

    def org_hook(self, hook: Hook) -> Json:
        url = f"{self.api}/orgs/{self.org_login}/hooks/{hook.id}"
        return {
            "id": hook.id,
            "url": url,
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
            "name": hook.name,
            "events": list(hook.events),
            "active": hook.active,
            "config": self._hook_config(hook),
            "updated_at": iso(hook.updated_at),
            "created_at": iso(hook.created_at),
            "type": "Organization",
        }

    def repo_hook(self, hook: Hook) -> Json:
        assert hook.repo is not None
        url = f"{self.repo_api(hook.repo)}/hooks/{hook.id}"
        return {
            "type": "Repository",
            "id": hook.id,
            "name": hook.name,
            "active": hook.active,
            "events": list(hook.events),
            "config": self._hook_config(hook),
            "updated_at": iso(hook.updated_at),
            "created_at": iso(hook.created_at),
            "url": url,
            "test_url": f"{url}/test",
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        }

    @staticmethod
    def _hook_config(hook: Hook) -> Json:
        config = {k: v for k, v in hook.config.items() if k in ("url", "content_type", "insecure_ssl", "secret")}
        if config.get("secret"):
            config["secret"] = REDACTED
        config.setdefault("content_type", "form")
        config.setdefault("insecure_ssl", "0")
        return config

    # -- repositories ----------------------------------------------------------------------------
    def repository(self, repo: Repository) -> Json:
        """One dict satisfying Full Repository, Repository and Minimal Repository (cached per version)."""
        cached = self._repos.get(repo.id)
        if cached is not None and cached[0] == repo.version:
            return cached[1]
        data = self._repository(repo)
        self._repos[repo.id] = (repo.version, data)
        return data

    def _repository(self, repo: Repository) -> Json:
        api, html, host = self.repo_api(repo), self.repo_html(repo), self.base.split("://", 1)[-1]
        full_name = f"{self.org_login}/{repo.name}"
        open_count = sum(1 for p in repo.pulls.values() if p.state == "open")
        templated = {
            "archive_url": "{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
        }
        data: Json = {
            key: (f"{api}/{value}" if key == "archive_url" else f"{api}{value}") for key, value in templated.items()
        }
        data.update(
            {
                "id": repo.id,
                "node_id": node("R", repo.id),
                "name": repo.name,
                "full_name": full_name,
                "owner": self.org_as_owner(),
                "private": True,
                "html_url": html,
                "description": repo.description,
                "fork": False,
                "url": api,
                "git_url": f"git://{host}/{full_name}.git",
                "ssh_url": f"git@{host.split(':')[0]}:{full_name}.git",
                "clone_url": f"{html}.git",
                "svn_url": html,
                "mirror_url": None,
                "homepage": None,
                "language": repo.language,
                "forks_count": 0,
                "forks": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "watchers": 0,
                "size": 100 + len(repo.commits),
                "default_branch": repo.default_branch,
                "open_issues_count": open_count,
                "open_issues": open_count,
                "is_template": False,
                "topics": [],
                "has_issues": True,
                "has_projects": False,
                "has_wiki": False,
                "has_pages": False,
                "has_downloads": True,
                "has_discussions": False,
                "archived": repo.archived,
                "disabled": False,
                "visibility": "private",
                "pushed_at": iso(repo.pushed_at),
                "created_at": iso(repo.created_at),
                "updated_at": iso(repo.updated_at),
                "license": None,
                "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
                "allow_rebase_merge": False,
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": True,
                "allow_update_branch": True,
                "use_squash_pr_title_as_default": True,
                "squash_merge_commit_title": "PR_TITLE",
                "squash_merge_commit_message": "COMMIT_MESSAGES",
                "merge_commit_title": "MERGE_MESSAGE",
                "merge_commit_message": "PR_TITLE",
                "allow_forking": False,
                "web_commit_signoff_required": False,
                "network_count": 0,
                "subscribers_count": 5,
                "organization": self.org_as_owner(),
            }
        )
        return data

    # -- pull requests ---------------------------------------------------------------------------
    def pull(self, repo: Repository, pr: PullRequest, full: bool) -> Json:
        api = f"{self.repo_api(repo)}/pulls/{pr.number}"
        html = f"{self.repo_html(repo)}/pull/{pr.number}"
        issue = f"{self.repo_api(repo)}/issues/{pr.number}"
        statuses = f"{self.repo_api(repo)}/statuses/{pr.head_sha}"
        repo_json, owner = self.repository(repo), self.org_as_owner()
        data: Json = {
            "url": api,
            "id": pr.id,
            "node_id": node("PR", pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.repo_api(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": statuses,
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.user_or_ghost(pr.user) if full else self.user(pr.user),
            "body": pr.body,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self.user(u) for u in pr.requested_reviewers if not u.deleted],
            "requested_teams": [],
            "head": {
                "label": f"{self.org_login}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": owner,
                "repo": repo_json,
            },
            "base": {
                "label": f"{self.org_login}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": pr.base_sha,
                "user": owner,
                "repo": repo_json,
            },
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{self.repo_api(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": self.author_association(pr.user),
            "auto_merge": None,
            "draft": pr.draft,
        }
        if full:
            approved = any(r.state == "APPROVED" and r.commit_id == pr.head_sha for r in pr.reviews)
            data.update(
                {
                    "merged": pr.merged,
                    "mergeable": True if pr.state == "open" else None,
                    "rebaseable": False,
                    "mergeable_state": ("draft" if pr.draft else "clean" if approved else "blocked")
                    if pr.state == "open"
                    else "unknown",
                    "merged_by": self.user(pr.merged_by),
                    "comments": pr.comments,
                    "review_comments": pr.review_comments,
                    "maintainer_can_modify": False,
                    "commits": len(pr.commit_shas),
                    "additions": pr.additions,
                    "deletions": pr.deletions,
                    "changed_files": pr.changed_files,
                }
            )
        return data

    def review(self, repo: Repository, pr: PullRequest, review: Review) -> Json:
        pull_url = f"{self.repo_api(repo)}/pulls/{pr.number}"
        html = f"{self.repo_html(repo)}/pull/{pr.number}#pullrequestreview-{review.id}"
        return {
            "id": review.id,
            "node_id": node("PRR", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self.author_association(review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
        }
