"""Mutations of the delivery side: releases, environments, deployments and their statuses, Actions runs.

Same rules as :mod:`ops` (explicit timestamps, ``world.touch``, a webhook event per change).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Deployment, DeploymentStatus, Environment, Release, Repository, Tag, User, Workflow, WorkflowRun
from .payloads import emit
from .world import World

FINAL_DEPLOYMENT_STATES = frozenset({"success", "failure", "error", "inactive"})


# -- releases -----------------------------------------------------------------------------------
def create_release(world: World, repo: Repository, tag: Tag, author: User | None, at: datetime, body: str) -> Release:
    release = Release(
        id=world.next_id("release"),
        tag_name=tag.name,
        name=tag.name,
        body=body,
        author=author,
        target_commitish=repo.default_branch,
        created_at=at,
        published_at=at,
    )
    repo.releases.append(release)
    world.touch(repo)
    # Publishing a (non-draft) release on GitHub sends all three, in this order.
    for action in ("created", "published", "released"):
        emit(world, "release", action, lambda p, a=action: p.release(a, repo, release, author))  # type: ignore[misc]
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
    world: World,
    repo: Repository,
    *,
    ref: str,
    sha: str,
    environment: str,
    creator: User | None,
    at: datetime,
    task: str = "deploy",
    description: str = "",
    payload: dict[str, Any] | None = None,
    transient: bool = False,
    production: bool = False,
    managed: bool = False,
) -> Deployment:
    deployment = Deployment(
        id=world.next_id("deployment"),
        sha=sha,
        ref=ref,
        task=task,
        environment=environment,
        description=description,
        creator=creator,
        created_at=at,
        updated_at=at,
        payload=dict(payload or {}),
        original_environment=environment,
        transient_environment=transient,
        production_environment=production,
        managed=managed,
    )
    repo.deployments[deployment.id] = deployment
    ensure_environment(world, repo, environment, at)
    world.touch(repo)
    emit(world, "deployment", "created", lambda p: p.deployment(repo, deployment, creator))
    return deployment


def add_deployment_status(
    world: World,
    repo: Repository,
    deployment: Deployment,
    state: str,
    at: datetime,
    creator: User | None,
    *,
    description: str = "",
    environment_url: str = "",
    log_url: str = "",
    auto_inactive: bool = True,
    environment: str | None = None,
) -> DeploymentStatus:
    if environment and environment != deployment.environment:
        deployment.environment = environment
        ensure_environment(world, repo, environment, at)
    if not environment_url and deployment.statuses:
        environment_url = deployment.statuses[-1].environment_url
    status = DeploymentStatus(
        id=world.next_id("status"),
        state=state,
        creator=creator,
        description=description,
        environment=deployment.environment,
        created_at=at,
        target_url=log_url,
        log_url=log_url,
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
                add_deployment_status(
                    world,
                    repo,
                    previous,
                    "inactive",
                    at,
                    creator,
                    auto_inactive=False,
                    description="Superseded by a newer deployment",
                )
        if deployment not in live:
            live.append(deployment)
    world.touch(repo)
    if state != "inactive":  # GitHub creates no webhook event for an inactive status (its docs say so)
        emit(world, "deployment_status", "created", lambda p: p.deployment_status(repo, deployment, status, creator))
    return status


# -- actions --------------------------------------------------------------------------------------
def create_run(
    world: World,
    repo: Repository,
    workflow: Workflow,
    *,
    event: str,
    head_branch: str | None,
    head_sha: str,
    actor: User | None,
    at: datetime,
    display_title: str,
    status: str = "queued",
    pull_numbers: list[int] | None = None,
    inputs: dict[str, Any] | None = None,
) -> WorkflowRun:
    workflow.run_count += 1
    run = WorkflowRun(
        id=world.next_id("run"),
        workflow=workflow,
        run_number=workflow.run_count,
        event=event,
        head_branch=head_branch,
        head_sha=head_sha,
        actor=actor,
        display_title=display_title,
        created_at=at,
        updated_at=at,
        status=status,
        run_started_at=at,
        pull_request_numbers=list(pull_numbers or []),
        inputs=dict(inputs or {}),
    )
    repo.runs[run.id] = run
    world.touch(repo)
    _emit_run(world, repo, run, "requested")
    return run


def set_run_status(
    world: World,
    repo: Repository,
    run: WorkflowRun,
    status: str,
    at: datetime,
    conclusion: str | None = None,
) -> None:
    if status == "in_progress" and run.status in ("queued", "waiting"):
        run.run_started_at = at
    run.status = status
    run.conclusion = conclusion if status == "completed" else None
    run.updated_at = at
    world.touch(repo)
    _emit_run(world, repo, run, "completed" if status == "completed" else "in_progress")


def _emit_run(world: World, repo: Repository, run: WorkflowRun, action: str) -> None:
    emit(world, "workflow_run", action, lambda p: p.workflow_run(action, repo, run))
