"""Shared fixtures: the GitHub simulator (a real HTTP server on 127.0.0.1), a client for it, a real Celery
worker process, and a snapshot of the mirror for "ends identical" comparisons."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from github import Auth

from delivery.accounts.models import Developer
from delivery.celery import app as celery_app
from delivery.github.client import GitHubClient
from delivery.github.models import (
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    SyncCursor,
    Tag,
    WorkflowRun,
)
from delivery.github.sync import SyncSummary, organization_repositories_sync, repository_sync
from delivery.simulator.generate import generate_world
from delivery.simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parent.parent
# GitHub's reference material the tests check against (OpenAPI subset, webhook examples and schemas), with
# its licences: copied into the repository, so a clone on its own runs every test.
GITHUB_FIXTURES = ROOT / "tests" / "fixtures" / "github"


@pytest.fixture(scope="session", autouse=True)
def _collected_static(django_db_blocker: Any) -> None:
    """Production settings serve hashed static files (WhiteNoise's manifest): collect them once, as a deploy does,
    into this test process's own STATIC_ROOT (tests/settings.py), so no other process rewrites them meanwhile."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def log_path(name: str) -> Path:
    """A file in this test process's own logs folder (TRUNKLINE_VAR_DIR/logs: var/test/logs, var/test/gw0/logs)."""
    from django.conf import settings

    logs = Path(settings.VAR_DIR) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / name


# Every signed-in page reads the session, the user, their permissions (two), and who is on call (two).
SIGNED_IN_PAGE_QUERIES = 6

# -- people ------------------------------------------------------------------------------------------------------
_github_ids = iter(range(9_000_000, 10_000_000))


def member(login: str, role: str | None = "developer", **developer: Any) -> Any:
    """A signed-up person: a Django user with a role, linked to a Developer of the same login."""
    from django.contrib.auth import get_user_model

    from delivery.accounts.models import Role
    from delivery.accounts.roles import role_set

    user = get_user_model().objects.create_user(login)
    user.set_unusable_password()
    user.save()
    if role is not None:
        role_set(user, Role(role))
    found = Developer.objects.filter(login=login).first()
    if found is None:
        found = Developer.objects.create(github_id=next(_github_ids), login=login, **developer)
    found.user = user
    found.save(update_fields=["user"])
    return user


@pytest.fixture
def client(db: None) -> Any:
    """A browser signed in as a developer (pages need sign-in); `anonymous_client` is the signed-out one."""
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(member("tess"))
    return signed_in


@pytest.fixture
def anonymous_client() -> Any:
    from django.test import Client

    return Client()


@pytest.fixture(scope="session")
def oauth_github() -> Iterator[SimulatorServer]:
    """The GitHub that signs people in: a simulator on the port tests/settings.py chose for this test process."""
    from django.conf import settings

    from tests.settings import oauth_port_release

    world = generate_world(seed=11, repos=1, developers=4, weeks=1, quirks=False)
    oauth_port_release()  # and bound again at once
    server = SimulatorServer(
        world,
        host="127.0.0.1",
        port=settings.OAUTH_SIMULATOR_PORT,
        oauth_client_id=settings.GITHUB_OAUTH_CLIENT_ID,
        oauth_client_secret=settings.GITHUB_OAUTH_CLIENT_SECRET,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    """A small organization: three repositories (plus the quirky ones), two weeks of history."""
    return generate_world(seed=7, repos=3, developers=6, weeks=2, quirks=True)


@pytest.fixture
def simulator(world) -> Iterator[SimulatorServer]:  # type: ignore[no-untyped-def]
    server = SimulatorServer(world, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def github(simulator: SimulatorServer, settings: Any) -> SimulatorServer:
    """Point the app's settings at the simulator."""
    settings.GITHUB_URL = simulator.url
    settings.GITHUB_API_URL = simulator.api_url
    settings.GITHUB_ORG = simulator.world.org_login
    settings.GITHUB_TOKEN = "test-token"
    return simulator


@pytest.fixture(autouse=True)
def _whole_history(settings: Any) -> None:
    """Read the simulator's whole history (its repositories start years back) unless a test narrows it."""
    settings.SYNC_BACKFILL_DAYS = 36_500


def simulator_client(simulator: SimulatorServer) -> GitHubClient:
    """The app's GitHub client, pointed at the simulator, unthrottled."""
    return GitHubClient(
        base_url=simulator.api_url,
        auth=Auth.Token("test-token"),
        seconds_between_requests=0,
        seconds_between_writes=0,
        transient_retries=2,
        backoff_seconds=0.01,
    )


@pytest.fixture
def gh_client(simulator: SimulatorServer) -> Iterator[GitHubClient]:
    client = simulator_client(simulator)
    yield client
    client.close()


def live_ticks(world: Any, count: int, *, minutes: float = 2) -> None:
    """Let the simulated organization work for `count` live steps, its (frozen) clock moving between them."""
    from delivery.simulator.live import LiveActivity

    if world.frozen_clock is None:
        world.frozen_clock = world.clock()
    live = LiveActivity(world)
    try:
        for _ in range(count):
            world.frozen_clock += timedelta(minutes=minutes)
            live.tick()
    finally:
        live.close()


def sync_all(client: GitHubClient, org: str) -> SyncSummary:
    """The organization's repository list, then every repository, in the foreground."""
    total, ids = organization_repositories_sync(client=client, org=org)
    for pk in ids:
        total.merge(repository_sync(repository_id=pk, client=client, trigger="test"))
    return total


def mirror_snapshot() -> dict[str, list[Any]]:
    """Everything the sync wrote, by GitHub identity (no surrogate keys, no bookkeeping times)."""

    def rows(queryset: Any, *fields: str) -> list[Any]:
        return sorted(queryset.values_list(*fields), key=repr)

    return {
        "repositories": rows(Repository.objects, "github_id", "full_name", "archived", "default_branch"),
        "developers": rows(Developer.objects, "github_id", "login", "is_bot"),
        "pull_requests": rows(
            PullRequest.objects,
            "github_id",
            "number",
            "state",
            "draft",
            "title",
            "author__github_id",
            "created_at",
            "updated_at",
            "merged_at",
            "closed_at",
            "head_sha",
            "merge_commit_sha",
            "details_synced_for",
        ),
        "reviews": rows(
            Review.objects,
            "github_id",
            "pull_request__github_id",
            "state",
            "author__github_id",
            "commit_sha",
            "submitted_at",
        ),
        "pull_request_commits": rows(PullRequestCommit.objects, "pull_request__github_id", "sha", "authored_at"),
        "commits": rows(
            Commit.objects,
            "repository__github_id",
            "sha",
            "main_position",
            "first_parent_sha",
            "authored_at",
            "author__github_id",
        ),
        "tags": rows(Tag.objects, "repository__github_id", "name", "sha"),
        "deployments": rows(
            Deployment.objects,
            "github_id",
            "environment",
            "sha",
            "ref",
            "state",
            "state_at",
            "environment_url",
            "is_rollback",
        ),
        "deployment_statuses": rows(
            DeploymentStatus.objects, "node_id", "deployment__github_id", "state", "created_at"
        ),
        "workflow_runs": rows(WorkflowRun.objects, "github_id", "status", "conclusion", "head_sha", "event"),
    }


def mirror_clear() -> None:
    Repository.objects.all().delete()
    Developer.objects.all().delete()
    SyncCursor.objects.all().delete()


def mirror_counts() -> dict[str, int]:
    return {
        "repositories": Repository.objects.filter(unavailable_reason="").count(),
        "pull_requests": PullRequest.objects.count(),
        "reviews": Review.objects.count(),
        "pull_request_commits": PullRequestCommit.objects.count(),
        "main_commits": Commit.objects.count(),
        "tags": Tag.objects.count(),
        "deployments": Deployment.objects.count(),
        "deployment_statuses": DeploymentStatus.objects.count(),
        "workflow_runs": WorkflowRun.objects.count(),
    }


def _database_url() -> str:
    """The URL of the database this test is using (pytest-django's test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def worker_start(
    queue: str, github: SimulatorServer, *, env: dict[str, str] | None = None, log_name: str = ""
) -> subprocess.Popen[bytes]:
    """A real Celery worker process consuming `queue`, against the configured broker (Redis in CI), this test's
    database and simulator; `env` adds settings of its own. Its log is worker-<queue>.log (or `log_name`) in this test
    process's var folder (var/test/gw0/logs/ under pytest-xdist)."""
    worker_env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "GITHUB_URL": github.url,
        "GITHUB_ORG": github.world.org_login,
        "GITHUB_TOKEN": "test-token",
        "CELERY_QUEUE": queue,
        **(env or {}),
    }
    with open(log_path(log_name or f"worker-{queue}.log"), "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "delivery",
                "worker",
                "--pool",
                "solo",
                "-Q",
                queue,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def worker_stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture
def celery_worker(github: SimulatorServer, transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process, on this test's own queue, against the configured broker (Redis in CI)
    and this test's database and simulator."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = worker_start(queue, github)
    try:
        yield worker
    finally:
        worker_stop(worker)
        celery_app.conf.task_default_queue = previous_queue


def wait_for(predicate: Any, *, timeout: float = 60.0, interval: float = 0.25, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
