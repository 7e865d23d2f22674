"""The REST route table (paths as in GitHub's OpenAPI description) and its dispatcher."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from .api_base import Request, Result
from .api_delivery import DeliveryApi
from .api_hooks import HookApi
from .api_read import ReadApi

REPO = "/repos/{owner}/{repo}"
# (method, OpenAPI path, handler); parameters named "ref"/"basehead" may contain slashes.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/orgs/{org}", "get_org"),
    ("GET", "/orgs/{org}/repos", "list_org_repos"),
    ("GET", "/orgs/{org}/members", "list_members"),
    ("GET", "/orgs/{org}/members/{username}", "check_member"),
    ("GET", "/orgs/{org}/teams", "list_teams"),
    ("GET", "/orgs/{org}/teams/{team_slug}/members", "list_team_members"),
    ("GET", "/orgs/{org}/hooks", "list_org_hooks"),
    ("POST", "/orgs/{org}/hooks", "create_org_hook"),
    ("GET", "/orgs/{org}/hooks/{hook_id}", "get_org_hook"),
    ("PATCH", "/orgs/{org}/hooks/{hook_id}", "update_org_hook"),
    ("POST", "/orgs/{org}/hooks/{hook_id}/pings", "ping_org_hook"),
    ("GET", "/orgs/{org}/hooks/{hook_id}/deliveries", "list_org_hook_deliveries"),
    ("GET", "/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}", "get_org_hook_delivery"),
    ("POST", "/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}/attempts", "redeliver_org_hook_delivery"),
    ("GET", "/rate_limit", "rate_limit"),
    ("GET", "/user", "get_user"),
    ("GET", "/user/emails", "list_emails"),
    ("GET", "/user/memberships/orgs/{org}", "get_membership"),
    ("GET", REPO, "get_repo"),
    ("GET", REPO + "/pulls", "list_pulls"),
    ("GET", REPO + "/pulls/{pull_number}", "get_pull"),
    ("GET", REPO + "/pulls/{pull_number}/commits", "list_pull_commits"),
    ("GET", REPO + "/pulls/{pull_number}/reviews", "list_pull_reviews"),
    ("GET", REPO + "/commits", "list_commits"),
    ("GET", REPO + "/commits/{ref}", "get_commit"),
    ("GET", REPO + "/branches", "list_branches"),
    ("GET", REPO + "/tags", "list_tags"),
    ("GET", REPO + "/git/matching-refs/{ref}", "matching_refs"),
    ("GET", REPO + "/git/ref/{ref}", "get_ref"),
    ("POST", REPO + "/git/refs", "create_ref"),
    ("POST", REPO + "/git/tags", "create_tag_object"),
    ("GET", REPO + "/compare/{basehead}", "compare"),
    ("GET", REPO + "/releases", "list_releases"),
    ("GET", REPO + "/hooks", "list_repo_hooks"),
    ("POST", REPO + "/hooks", "create_repo_hook"),
    ("GET", REPO + "/hooks/{hook_id}", "get_repo_hook"),
    ("PATCH", REPO + "/hooks/{hook_id}", "update_repo_hook"),
    ("POST", REPO + "/hooks/{hook_id}/pings", "ping_repo_hook"),
    ("GET", REPO + "/hooks/{hook_id}/deliveries", "list_repo_hook_deliveries"),
    ("GET", REPO + "/hooks/{hook_id}/deliveries/{delivery_id}", "get_repo_hook_delivery"),
    ("POST", REPO + "/hooks/{hook_id}/deliveries/{delivery_id}/attempts", "redeliver_repo_hook_delivery"),
    ("GET", REPO + "/deployments", "list_deployments"),
    ("POST", REPO + "/deployments", "create_deployment"),
    ("GET", REPO + "/deployments/{deployment_id}", "get_deployment"),
    ("GET", REPO + "/deployments/{deployment_id}/statuses", "list_deployment_statuses"),
    ("POST", REPO + "/deployments/{deployment_id}/statuses", "create_deployment_status"),
    ("GET", REPO + "/environments", "list_environments"),
    ("GET", REPO + "/actions/runs", "list_runs"),
    ("GET", REPO + "/actions/runs/{run_id}", "get_run"),
    ("GET", REPO + "/actions/workflows", "list_workflows"),
    ("GET", REPO + "/actions/workflows/{workflow_id}", "get_workflow"),
    ("GET", REPO + "/actions/workflows/{workflow_id}/runs", "list_workflow_runs"),
    ("POST", REPO + "/actions/workflows/{workflow_id}/dispatches", "create_dispatch"),
)
GREEDY = ("ref", "basehead")


def _compile(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>.+)" if name in GREEDY else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "/?$")


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Callable[[Request], Result]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class Api(ReadApi, DeliveryApi, HookApi):
    """All REST handlers, plus the route table bound to them."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.routes = [Route(m, t, _compile(t), getattr(self, h)) for m, t, h in ROUTES]
        self.by_method: dict[str, list[Route]] = {}
        for route in self.routes:
            self.by_method.setdefault(route.method, []).append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.by_method.get(method, ()):
            found = route.pattern.match(path)
            if found:
                params = {k: (v if k in GREEDY else unquote(v)) for k, v in found.groupdict().items()}
                return route, params
        return None

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({r.method for r in self.routes if r.pattern.match(path)})
