"""The simulated deployment system: what a ``workflow_dispatch`` or a deployment created through the API sets in
motion, played out by the world's timers, one step every ``world.dispatch_step_seconds``.

Dispatching ``rollback.yml`` (input ``tag``, optional ``reason``) or ``deploy-production.yml`` (input ``tag``, or a
tag as the dispatched ref) at t:

- t: the run, ``queued`` (``workflow_run`` requested); the dispatch itself answers 204 (200 with
  ``return_run_details``).
- t+1 step: the run ``in_progress`` (``workflow_run`` in_progress); a production deployment of the tag
  (``deployment`` created: ref = the tag's name, sha = its commit, task ``deploy``, ``production_environment``,
  creator the bot; a rollback's payload is ``{"rollback": true, "from": <the ref live in production, if any>,
  "reason": <if given>}``) and its ``queued`` status (``deployment_status`` created; ``log_url``: the run's page).
- t+2 steps: ``in_progress``; t+3 steps: ``success`` with its ``environment_url`` (or ``failure`` when the switch
  ``fail_next_production_deploy`` was on at the dispatch), then the run ``completed`` with the same conclusion.
  An unknown tag: the run goes in_progress, then completes with ``failure``, and no deployment is made.

``deploy-staging.yml`` deploys the dispatched ref to staging the same way (switch ``fail_next_staging_deploy``);
any other workflow just runs (in_progress at t+1, completed/success at t+3).

A deployment created through ``POST /repos/{o}/{r}/deployments`` to ``production`` or ``staging`` with task
``deploy`` is picked up by the same system: ``queued`` at t+1, ``in_progress`` at t+2, ``success`` (or
``failure`` when ``fail_next_<environment>_deploy`` was on at its creation) at t+3. If anyone else posts a
status to it meanwhile, the system leaves that deployment to them.

A success does what GitHub's ``auto_inactive`` does: earlier successful deployments of the same environment
turn ``inactive`` -- except production (and transient) ones, which GitHub leaves alone (see
:func:`ops_delivery.add_deployment_status`).

Timers run from the server's timer thread as time passes and on every request; tests with a frozen clock move
``world.frozen_clock`` on and call ``world.advance()``, or ``world.settle()`` to play everything out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from . import ops
from .history import environment_url, run_log_path
from .models import Deployment, Repository, User, Workflow, WorkflowRun
from .world import SCHEDULED_ACTIONS, World

WORKFLOW_INPUTS: dict[str, dict[str, bool]] = {  # file -> input -> required
    "rollback.yml": {"tag": True, "reason": False},
    "deploy-production.yml": {"tag": False},
    "deploy-staging.yml": {},
    "ci.yml": {},
}
DEPLOYED_ENVIRONMENTS = ("production", "staging")  # what the simulated deployment system deploys
DESCRIPTIONS = {
    "queued": "Deployment queued",
    "in_progress": "Deploying",
    "success": "Deployed",
    "failure": "Deployment failed",
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


def take_switch(world: World, name: str) -> bool:
    """A one-shot switch: its value, and it is off again."""
    on = world.switches.get(name, False)
    world.switches[name] = False
    return on


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
    if file_name in ("rollback.yml", "deploy-production.yml"):
        tag_name = str(inputs.get("tag") or (ref if ref in repo.tags else ""))
        tag = repo.tags.get(tag_name)
        if tag is None or tag.sha not in repo.commits:
            world.schedule(at + step, "run_status", repo.name, run.id, "in_progress", None)
            world.schedule(at + 3 * step, "run_status", repo.name, run.id, "completed", "failure")
            return run
        fail = take_switch(world, "fail_next_production_deploy")
        payload: dict[str, Any] = {}
        if file_name == "rollback.yml":
            payload = {"rollback": True}
            if (previous := _live_ref(repo, "production")) is not None:
                payload["from"] = previous
            if inputs.get("reason"):
                payload["reason"] = str(inputs["reason"])
        world.schedule(at + step, "dispatch_deploy", repo.name, run.id, "production", tag.name, tag.sha, payload, fail)
    elif file_name == "deploy-staging.yml":
        fail = take_switch(world, "fail_next_staging_deploy")
        world.schedule(at + step, "dispatch_deploy", repo.name, run.id, "staging", ref, sha, {}, fail)
    else:
        world.schedule(at + step, "run_status", repo.name, run.id, "in_progress", None)
        world.schedule(at + 3 * step, "run_status", repo.name, run.id, "completed", "success")
    return run


def deploy(world: World, repo: Repository, deployment: Deployment, at: datetime) -> bool:
    """Let the simulated deployment system run a deployment created through the API, if it is one it deploys
    (production or staging, task ``deploy``). Returns whether it will."""
    if deployment.environment not in DEPLOYED_ENVIRONMENTS or deployment.task != "deploy":
        return False
    fail = take_switch(world, f"fail_next_{deployment.environment}_deploy")
    step = timedelta(seconds=world.dispatch_step_seconds)
    world.schedule(at + step, "deploy_step", repo.name, deployment.id, "queued", fail, None, 0)
    return True


def _live_ref(repo: Repository, environment: str) -> str | None:
    live = repo.live_deployments.get(environment) or []
    return live[-1].ref if live else None


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
    if payload.get("rollback"):
        previous = payload.get("from")
        description = f"Rollback to {ref}" + (f" (from {previous})" if previous else "")
    else:
        description = f"Deploy {ref} to {environment}"
    deployment = ops.create_deployment(
        world,
        repo,
        ref=ref,
        sha=sha,
        environment=environment,
        creator=world.bot,
        at=due,
        description=description,
        payload=payload,
        production=environment == "production",
    )
    _deploy_step(world, due, repo.name, deployment.id, "queued", fail, run.id, 0)


@scheduled("deploy_step")
def _deploy_step(
    world: World,
    due: datetime,
    repo_name: str,
    deployment_id: int,
    state: str,
    fail: bool,
    run_id: int | None,
    seen: int,
) -> None:
    """One status of a deployment the simulator deploys; ``seen`` is how many statuses it had after our last."""
    repo = world.repos.get(repo_name)
    deployment = repo.deployments.get(deployment_id) if repo else None
    if repo is None or deployment is None:
        return
    found = _run(world, repo_name, run_id) if run_id is not None else None
    run = found[1] if found else None
    if len(deployment.statuses) != seen:  # someone else is deploying it: theirs to finish
        return
    log = run_log_path(world, repo, run) if run else f"/{world.org_login}/{repo.name}/deployments/{deployment.id}"
    final = state in ("success", "failure")
    ops.add_deployment_status(
        world,
        repo,
        deployment,
        state,
        due,
        world.bot,
        log_url=log,
        environment_url=environment_url(world, repo, deployment.environment) if state == "success" else "",
        description=DESCRIPTIONS[state],
    )
    if final:
        if run is not None:
            ops.set_run_status(world, repo, run, "completed", due, state)
        return
    following = "in_progress" if state == "queued" else ("failure" if fail else "success")
    step = timedelta(seconds=world.dispatch_step_seconds)
    world.schedule(due + step, "deploy_step", repo.name, deployment.id, following, fail, run_id, seen + 1)


@scheduled("deployment_status")
def _deployment_status(world: World, due: datetime, repo_name: str, deployment_id: int, state: str, log: str) -> None:
    """Kept so worlds saved with timers of the earlier shape still load and finish."""
    repo = world.repos.get(repo_name)
    deployment = repo.deployments.get(deployment_id) if repo else None
    if repo is None or deployment is None:
        return
    url = environment_url(world, repo, deployment.environment) if state == "success" else ""
    ops.add_deployment_status(
        world,
        repo,
        deployment,
        state,
        due,
        world.bot,
        log_url=log,
        environment_url=url,
        description=DESCRIPTIONS[state],
    )
