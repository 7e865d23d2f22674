"""What a ``workflow_dispatch`` sets in motion, played out by the world's timers.

``rollback.yml`` (input ``tag``) and ``deploy-production.yml`` (input ``tag``) create a production
deployment of the tag that goes queued -> in_progress -> success, or failure when the switch
``fail_next_production_deploy`` is on; ``deploy-staging.yml`` deploys the dispatched ref to staging
(switch ``fail_next_staging_deploy``); any other workflow just runs and succeeds. The pace is
``world.dispatch_step_seconds`` per step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from . import ops
from .history import environment_url, run_log_path
from .models import Repository, User, Workflow, WorkflowRun
from .world import SCHEDULED_ACTIONS, World

WORKFLOW_INPUTS: dict[str, dict[str, bool]] = {  # file -> input -> required
    "rollback.yml": {"tag": True, "reason": False},
    "deploy-production.yml": {"tag": False},
    "deploy-staging.yml": {},
    "ci.yml": {},
}


def scheduled(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        SCHEDULED_ACTIONS[name] = fn
        return fn

    return register


def check_inputs(workflow: Workflow, inputs: dict[str, Any]) -> str | None:
    """An error message when the inputs do not fit the workflow, like GitHub's 422s."""
    spec = WORKFLOW_INPUTS.get(workflow.file_name)
    if spec is None:
        return None
    unexpected = sorted(set(inputs) - set(spec))
    if unexpected:
        return f"Unexpected inputs provided: {unexpected}"
    for name, required in spec.items():
        if required and not inputs.get(name):
            return f"Required input '{name}' not provided"
    return None


def dispatch(
    world: World,
    repo: Repository,
    workflow: Workflow,
    ref: str,
    sha: str,
    actor: User | None,
    inputs: dict[str, Any],
    at: datetime,
) -> WorkflowRun:
    run = ops.create_run(
        world,
        repo,
        workflow,
        event="workflow_dispatch",
        head_branch=ref,
        head_sha=sha,
        actor=actor,
        at=at,
        display_title=workflow.name,
        inputs=inputs,
    )
    step = timedelta(seconds=world.dispatch_step_seconds)
    file_name = workflow.file_name
    if file_name in ("rollback.yml", "deploy-production.yml") and inputs.get("tag"):
        tag = repo.tags.get(str(inputs["tag"]))
        if tag is None or tag.sha not in repo.commits:
            world.schedule(at + step, "run_status", repo.name, run.id, "in_progress", None)
            world.schedule(at + 2 * step, "run_status", repo.name, run.id, "completed", "failure")
            return run
        fail = world.switches.get("fail_next_production_deploy", False)
        world.switches["fail_next_production_deploy"] = False
        payload = {"rollback": True, "reason": inputs.get("reason", "")} if file_name == "rollback.yml" else {}
        world.schedule(at + step, "dispatch_deploy", repo.name, run.id, "production", tag.name, tag.sha, payload, fail)
    elif file_name == "deploy-staging.yml":
        fail = world.switches.get("fail_next_staging_deploy", False)
        world.switches["fail_next_staging_deploy"] = False
        world.schedule(at + step, "dispatch_deploy", repo.name, run.id, "staging", ref, sha, {}, fail)
    else:
        world.schedule(at + step, "run_status", repo.name, run.id, "in_progress", None)
        world.schedule(at + 3 * step, "run_status", repo.name, run.id, "completed", "success")
    return run


def _run(world: World, repo_name: str, run_id: int) -> tuple[Repository, WorkflowRun] | None:
    repo = world.repos.get(repo_name)
    run = repo.runs.get(run_id) if repo else None
    return (repo, run) if repo is not None and run is not None else None


@scheduled("run_status")
def _run_status(world: World, due: datetime, repo_name: str, run_id: int, status: str, conclusion: str | None) -> None:
    found = _run(world, repo_name, run_id)
    if found:
        ops.set_run_status(world, found[0], found[1], status, due, conclusion)


@scheduled("dispatch_deploy")
def _dispatch_deploy(
    world: World,
    due: datetime,
    repo_name: str,
    run_id: int,
    environment: str,
    ref: str,
    sha: str,
    payload: dict[str, Any],
    fail: bool,
) -> None:
    found = _run(world, repo_name, run_id)
    if not found:
        return
    repo, run = found
    ops.set_run_status(world, repo, run, "in_progress", due)
    label = "Rollback to" if payload.get("rollback") else "Deploy"
    deployment = ops.create_deployment(
        world,
        repo,
        ref=ref,
        sha=sha,
        environment=environment,
        creator=world.bot,
        at=due,
        description=f"{label} {ref} ({environment})",
        payload=payload,
        production=environment == "production",
    )
    log = run_log_path(world, repo, run)
    ops.add_deployment_status(
        world, repo, deployment, "queued", due, world.bot, log_url=log, description="Deployment queued"
    )
    step = timedelta(seconds=world.dispatch_step_seconds)
    world.schedule(due + step, "deployment_status", repo.name, deployment.id, "in_progress", log)
    world.schedule(due + 2 * step, "deployment_status", repo.name, deployment.id, "failure" if fail else "success", log)
    world.schedule(due + 2 * step, "run_status", repo.name, run.id, "completed", "failure" if fail else "success")


@scheduled("deployment_status")
def _deployment_status(world: World, due: datetime, repo_name: str, deployment_id: int, state: str, log: str) -> None:
    repo = world.repos.get(repo_name)
    deployment = repo.deployments.get(deployment_id) if repo else None
    if repo is None or deployment is None:
        return
    url = environment_url(world, repo, deployment.environment) if state == "success" else ""
    description = {"in_progress": "Deploying", "success": "Deployed", "failure": "Deployment failed"}[state]
    ops.add_deployment_status(
        world, repo, deployment, state, due, world.bot, log_url=log, environment_url=url, description=description
    )
