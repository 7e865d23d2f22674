"""GitHub-shaped JSON for delivery objects: deployments, statuses, environments, Actions, releases."""

from __future__ import annotations

from .models import Deployment, DeploymentStatus, Environment, Release, Repository, Workflow, WorkflowRun
from .render import Json, Renderer, iso, node

CHECK_SUITE_OFFSET = 20_000_000  # a run's check suite id is its id plus this


class DeliveryRenderer:
    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer

    def deployment(self, repo: Repository, deployment: Deployment) -> Json:
        api = self.r.repo_api(repo)
        url = f"{api}/deployments/{deployment.id}"
        return {
            "url": url,
            "id": deployment.id,
            "node_id": node("DE", deployment.id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": deployment.task,
            "payload": deployment.payload,
            "original_environment": deployment.original_environment,
            "environment": deployment.environment,
            "description": deployment.description,
            "creator": self.r.user(deployment.creator),
            "created_at": iso(deployment.created_at),
            "updated_at": iso(deployment.updated_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": api,
            "transient_environment": deployment.transient_environment,
            "production_environment": deployment.production_environment,
            "performed_via_github_app": None,
        }

    def status(self, repo: Repository, deployment: Deployment, status: DeploymentStatus) -> Json:
        api = self.r.repo_api(repo)
        url = f"{api}/deployments/{deployment.id}"
        return {
            "url": f"{url}/statuses/{status.id}",
            "id": status.id,
            "node_id": node("DES", status.id),
            "state": status.state,
            "creator": self.r.user(status.creator),
            "description": status.description,
            "environment": status.environment,
            "target_url": self.r.absolute(status.target_url),
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
            "deployment_url": url,
            "repository_url": api,
            "environment_url": status.environment_url,
            "log_url": self.r.absolute(status.log_url),
            "performed_via_github_app": None,
        }

    def environment(self, repo: Repository, env: Environment) -> Json:
        return {
            "id": env.id,
            "node_id": node("EN", env.id),
            "name": env.name,
            "url": f"{self.r.repo_api(repo)}/environments/{env.name}",
            "html_url": f"{self.r.repo_html(repo)}/deployments/activity_log?environments_filter={env.name}",
            "created_at": iso(env.created_at),
            "updated_at": iso(env.updated_at),
            "protection_rules": [],
            "deployment_branch_policy": None,
        }

    def workflow(self, repo: Repository, workflow: Workflow) -> Json:
        api, html = self.r.repo_api(repo), self.r.repo_html(repo)
        return {
            "id": workflow.id,
            "node_id": node("W", workflow.id),
            "name": workflow.name,
            "path": workflow.path,
            "state": workflow.state,
            "created_at": iso(workflow.created_at),
            "updated_at": iso(workflow.updated_at),
            "url": f"{api}/actions/workflows/{workflow.id}",
            "html_url": f"{html}/blob/{repo.default_branch}/{workflow.path}",
            "badge_url": f"{html}/workflows/{workflow.name.replace(' ', '%20')}/badge.svg",
        }

    def run(self, repo: Repository, run: WorkflowRun) -> Json:
        api, html = self.r.repo_api(repo), self.r.repo_html(repo)
        url = f"{api}/actions/runs/{run.id}"
        commit = repo.commits.get(run.head_sha)
        head_commit = None
        if commit is not None:
            head_commit = {
                "id": commit.sha,
                "tree_id": commit.tree_sha,
                "message": commit.message,
                "timestamp": iso(commit.committed_at),
                "author": {"name": commit.author_name, "email": commit.author_email},
                "committer": {"name": commit.committer_name, "email": commit.committer_email},
            }
        actor = self.r.user(run.actor)
        suite_id = run.id + CHECK_SUITE_OFFSET
        return {
            "id": run.id,
            "name": run.workflow.name,
            "node_id": node("WFR", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.workflow.path,
            "display_title": run.display_title,
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow.id,
            "check_suite_id": suite_id,
            "check_suite_node_id": node("CS", suite_id),
            "url": url,
            "html_url": f"{html}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "actor": actor,
            "run_attempt": run.run_attempt,
            "referenced_workflows": [],
            "run_started_at": iso(run.run_started_at),
            "triggering_actor": actor,
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{api}/check-suites/{suite_id}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{api}/actions/workflows/{run.workflow.id}",
            "head_commit": head_commit,
            "repository": self.r.repository(repo),
            "head_repository": self.r.repository(repo),
        }

    def release(self, repo: Repository, release: Release) -> Json:
        api, html = self.r.repo_api(repo), self.r.repo_html(repo)
        url = f"{api}/releases/{release.id}"
        return {
            "url": url,
            "html_url": f"{html}/releases/tag/{release.tag_name}",
            "assets_url": f"{url}/assets",
            "upload_url": f"{self.r.base}/api/uploads/repos/{self.r.org_login}/{repo.name}/releases/{release.id}"
            "/assets{?name,label}",
            "tarball_url": f"{api}/tarball/{release.tag_name}",
            "zipball_url": f"{api}/zipball/{release.tag_name}",
            "id": release.id,
            "node_id": node("RE", release.id),
            "tag_name": release.tag_name,
            "target_commitish": release.target_commitish,
            "name": release.name,
            "body": release.body,
            "draft": False,
            "prerelease": False,
            "immutable": False,
            "created_at": iso(release.created_at),
            "published_at": iso(release.published_at),
            "updated_at": iso(release.published_at),
            "author": self.r.user(release.author) or self.r.ghost(),
            "assets": [],
        }
