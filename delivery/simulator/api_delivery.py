"""Deployments, environments and Actions (GET), and every POST operation."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from . import ops
from .api_base import ApiBase, ApiError, Request, Result, invalid, not_found
from .dispatch import check_inputs, deploy, dispatch
from .models import Deployment, GitTagObject, Repository, Workflow
from .render_delivery import CHECK_SUITE_OFFSET

STATUS_STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
RUN_STATUSES = (
    "completed",
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
    "in_progress",
    "queued",
    "requested",
    "waiting",
    "pending",
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def created_range(value: str) -> tuple[datetime | None, datetime | None]:
    """GitHub's search syntax for dates (``>=2025-11-19T14:30:00Z``, ``<2025-11-19``, ``a..b``, ``a..*``, a bare
    date or date-time) -> [low, high) bounds. A date covers its whole (UTC) day, a date-time its second."""
    value = value.strip().replace(" ", "+")  # an unencoded "+01:00" arrives as a space
    if ".." in value:
        first, _, last = value.partition("..")
        return (None if first == "*" else _span(first)[0], None if last == "*" else _span(last)[1])
    for operator in (">=", "<=", ">", "<"):
        if value.startswith(operator):
            low, high = _span(value[len(operator) :])
            return {">=": (low, None), ">": (high, None), "<=": (None, high), "<": (None, low)}[operator]
    return _span(value)


def _span(text: str) -> tuple[datetime, datetime]:
    try:
        if _DATE.match(text):
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day, day + timedelta(days=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(
            "Validation Failed", errors=[{"resource": "WorkflowRun", "field": "created", "code": "invalid"}]
        ) from exc
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    return moment, moment + timedelta(seconds=1)


class DeliveryApi(ApiBase):
    # -- deployments -----------------------------------------------------------------------------
    def list_deployments(self, req: Request) -> Result:
        repo = self.repo_of(req)
        filters = tuple(
            (name, value) for name in ("sha", "ref", "task", "environment") if (value := req.q(name)) not in (None, "")
        )
        items = self.world.deployments(repo, filters)  # type: ignore[arg-type]
        return self.page_of(req, items, lambda d: self.delivery.deployment(repo, d))

    def _deployment(self, req: Request) -> tuple[Repository, Deployment]:
        repo = self.repo_of(req)
        deployment = repo.deployments.get(self.int_param(req, "deployment_id"))
        if deployment is None:
            raise not_found()
        return repo, deployment

    def get_deployment(self, req: Request) -> Result:
        repo, deployment = self._deployment(req)
        return Result(200, self.delivery.deployment(repo, deployment))

    def list_deployment_statuses(self, req: Request) -> Result:
        repo, deployment = self._deployment(req)
        return self.page_of(
            req, list(reversed(deployment.statuses)), lambda s: self.delivery.status(repo, deployment, s)
        )

    def list_environments(self, req: Request) -> Result:
        repo = self.repo_of(req)
        envs = sorted(repo.environments.values(), key=lambda e: e.name)
        return self.counted_page(req, "environments", envs, lambda e: self.delivery.environment(repo, e))

    # -- actions ---------------------------------------------------------------------------------
    def _workflow(self, req: Request, repo: Repository) -> Workflow:
        key = req.params["workflow_id"]
        workflow = repo.workflows.get(int(key)) if key.isdigit() else repo.workflow_by_file(key)
        if workflow is None:
            raise not_found()
        return workflow

    def _runs(self, req: Request, repo: Repository, workflow: Workflow | None) -> Result:
        filters = tuple(
            (name, value)
            for name in ("branch", "event", "status", "actor", "head_sha")
            if (value := req.q(name)) not in (None, "")
        )
        if any(name == "status" and value not in RUN_STATUSES for name, value in filters):
            raise invalid("Validation Failed")
        runs = self.world.runs(repo, filters, workflow.id if workflow else None)  # type: ignore[arg-type]
        created = req.q("created")
        if created:
            low, high = created_range(created)
            runs = [r for r in runs if (low is None or r.created_at >= low) and (high is None or r.created_at < high)]
        suite = req.q("check_suite_id")
        if suite:
            if not suite.isdigit():
                raise invalid("Validation Failed")
            runs = [r for r in runs if r.id + CHECK_SUITE_OFFSET == int(suite)]
        return self.counted_page(req, "workflow_runs", runs, lambda run: self.delivery.run(repo, run))

    def list_runs(self, req: Request) -> Result:
        repo = self.repo_of(req)
        return self._runs(req, repo, None)

    def list_workflow_runs(self, req: Request) -> Result:
        repo = self.repo_of(req)
        return self._runs(req, repo, self._workflow(req, repo))

    def get_run(self, req: Request) -> Result:
        repo = self.repo_of(req)
        run = repo.runs.get(self.int_param(req, "run_id"))
        if run is None:
            raise not_found()
        return Result(200, self.delivery.run(repo, run))

    def list_workflows(self, req: Request) -> Result:
        repo = self.repo_of(req)
        return self.counted_page(
            req, "workflows", list(repo.workflows.values()), lambda w: self.delivery.workflow(repo, w)
        )

    def get_workflow(self, req: Request) -> Result:
        repo = self.repo_of(req)
        return Result(200, self.delivery.workflow(repo, self._workflow(req, repo)))

    # -- writes ----------------------------------------------------------------------------------
    def create_deployment(self, req: Request) -> Result:
        repo, body = self.writable_repo(req), self.json_body(req)
        ref = body.get("ref")
        if not ref:
            raise invalid('Invalid request.\n\n"ref" wasn\'t supplied.')
        sha = self.world.resolve_ref(repo, str(ref))
        if sha is None:
            raise ApiError(422, f"No ref found for: {ref}")
        payload: Any = body.get("payload", {})
        if isinstance(payload, str):
            with contextlib.suppress(ValueError):
                payload = json.loads(payload) if payload else {}
        environment = str(body.get("environment") or "production")
        now = self.world.clock()
        deployment = ops.create_deployment(
            self.world,
            repo,
            ref=str(ref),
            sha=sha,
            environment=environment,
            creator=req.user or self.world.service_account,
            at=now,
            task=str(body.get("task") or "deploy"),
            description=str(body.get("description") or ""),
            payload=payload,
            transient=bool(body.get("transient_environment", False)),
            production=bool(body.get("production_environment", environment == "production")),
        )
        # ``auto_merge`` and ``required_contexts`` change nothing here: the simulator has no commit statuses to
        # check (so no 409) and deploys tags and branches as they are.
        deploy(self.world, repo, deployment, now)
        return Result(201, self.delivery.deployment(repo, deployment))

    def create_deployment_status(self, req: Request) -> Result:
        repo, deployment = self._deployment(req)
        if repo.archived:
            raise ApiError(403, "Repository was archived so is read-only.")
        body = self.json_body(req)
        state = body.get("state")
        if state not in STATUS_STATES:
            raise invalid(
                "Validation Failed", errors=[{"resource": "DeploymentStatus", "field": "state", "code": "invalid"}]
            )
        status = ops.add_deployment_status(
            self.world,
            repo,
            deployment,
            str(state),
            self.world.clock(),
            req.user or self.world.service_account,
            description=str(body.get("description") or "")[:140],
            environment_url=str(body.get("environment_url") or ""),
            log_url=str(body.get("log_url") or body.get("target_url") or ""),
            auto_inactive=bool(body.get("auto_inactive", True)),
            environment=body.get("environment") or None,
        )
        return Result(201, self.delivery.status(repo, deployment, status))

    def create_dispatch(self, req: Request) -> Result:
        repo = self.writable_repo(req)
        workflow, body = self._workflow(req, repo), self.json_body(req)
        ref = body.get("ref")
        if not ref:
            raise invalid('Invalid request.\n\n"ref" wasn\'t supplied.')
        ref = str(ref).removeprefix("refs/heads/").removeprefix("refs/tags/")
        if ref not in repo.branches and ref not in repo.tags:
            raise invalid(f"No ref found for: {ref}")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise invalid("Invalid request.\n\nFor 'properties/inputs', is not an object.")
        problem = check_inputs(workflow, inputs)
        if problem:
            raise invalid(problem)
        sha = self.world.resolve_ref(repo, ref)
        run = dispatch(
            self.world,
            repo,
            workflow,
            ref,
            sha or repo.main_sha,
            req.user or self.world.service_account,
            {k: str(v) for k, v in inputs.items()},
            self.world.clock(),
        )
        if body.get("return_run_details"):
            api, html = self.r.repo_api(repo), self.r.repo_html(repo)
            return Result(
                200,
                {
                    "workflow_run_id": run.id,
                    "run_url": f"{api}/actions/runs/{run.id}",
                    "html_url": f"{html}/actions/runs/{run.id}",
                },
            )
        return Result(204)

    def create_ref(self, req: Request) -> Result:
        repo, body = self.writable_repo(req), self.json_body(req)
        ref, sha = str(body.get("ref") or ""), str(body.get("sha") or "")
        if not ref.startswith(("refs/heads/", "refs/tags/")) or ref.count("/") < 2 or ref.endswith("/"):
            raise invalid("Reference name is invalid" if ref else 'Invalid request.\n\n"ref" wasn\'t supplied.')
        name = ref.split("/", 2)[2]
        existing = repo.branches if ref.startswith("refs/heads/") else repo.tags
        if name in existing:
            raise invalid("Reference already exists")
        tag_object = repo.tag_objects.get(sha)
        if sha not in repo.commits and tag_object is None:
            raise invalid("Object does not exist")
        now, actor = self.world.clock(), req.user or self.world.service_account
        if ref.startswith("refs/heads/"):
            if tag_object is not None:
                raise invalid("Object does not exist")
            ops.create_branch(self.world, repo, name, sha, now, actor)
            return Result(201, self.git.ref(repo, ref, sha))
        if tag_object is not None:
            ops.create_tag(self.world, repo, name, tag_object.object_sha, now, actor, object_sha=sha, object_type="tag")
            return Result(201, self.git.ref(repo, ref, sha, "tag"))
        ops.create_tag(self.world, repo, name, sha, now, actor)
        return Result(201, self.git.ref(repo, ref, sha))

    def create_tag_object(self, req: Request) -> Result:
        repo, body = self.writable_repo(req), self.json_body(req)
        missing = [k for k in ("tag", "message", "object", "type") if not body.get(k)]
        if missing:
            raise invalid(f'Invalid request.\n\n"{missing[0]}" wasn\'t supplied.')
        if body["type"] != "commit" or body["object"] not in repo.commits:
            raise invalid("Object does not exist")
        user = req.user or self.world.service_account
        tagger = body.get("tagger") or {}
        obj = GitTagObject(
            sha=self.world.new_sha("tag"),
            tag=str(body["tag"]),
            message=str(body["message"]),
            object_sha=body["object"],
            object_type="commit",
            tagger_name=str(tagger.get("name") or (user.name if user else "Unknown")),
            tagger_email=str(tagger.get("email") or (user.email if user else "unknown@example.com")),
            tagged_at=self.world.clock(),
        )
        repo.tag_objects[obj.sha] = obj
        self.world.touch(repo)
        return Result(201, self.git.tag_object(repo, obj))
