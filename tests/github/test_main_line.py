"""Positions on the default branch's first-parent line, computed in the database."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from django.db import connection

from delivery.github.main_line import assign_main_positions
from delivery.github.models import Commit, SyncRun
from delivery.github.sync import repository_sync
from tests.factories import RepositoryFactory
from tests.github.sync_helpers import followed_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def queries_time_out() -> Iterator[None]:
    """A query that runs away (a recursion that never ends) fails the test after 20 s instead of hanging it."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        deadline = time.monotonic() + 20
        connection.connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 100_000)
        yield
        connection.connection.set_progress_handler(None, 0)
    else:  # for the test's transaction only
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '20s'")
        yield


def _commit(repository, sha: str, *parents: str) -> Commit:
    return Commit.objects.create(
        repository=repository, sha=sha, parent_shas=list(parents), first_parent_sha=parents[0] if parents else ""
    )


def _positions(repository) -> dict[str, int | None]:
    return dict(repository.commits.values_list("sha", "main_position"))


def test_a_squash_history_is_numbered_from_the_oldest_commit():
    repo = RepositoryFactory()
    _commit(repo, "a")
    _commit(repo, "b", "a")
    _commit(repo, "c", "b")

    assert assign_main_positions(repo, "c") == 3
    assert _positions(repo) == {"a": 0, "b": 1, "c": 2}


def test_a_merge_commit_keeps_its_branch_commits_off_the_first_parent_line():
    repo = RepositoryFactory()
    _commit(repo, "a")
    _commit(repo, "f1", "a")  # feature branch commits
    _commit(repo, "f2", "f1")
    _commit(repo, "b", "a")
    _commit(repo, "m", "b", "f2")  # merge commit: first parent is main

    assign_main_positions(repo, "m")
    assert _positions(repo) == {"a": 0, "b": 1, "m": 2, "f1": None, "f2": None}


def test_new_commits_continue_from_the_last_placed_one():
    repo = RepositoryFactory()
    _commit(repo, "a")
    _commit(repo, "b", "a")
    assign_main_positions(repo, "b")
    _commit(repo, "c", "b")
    _commit(repo, "d", "c")

    assert assign_main_positions(repo, "d") == 2
    assert _positions(repo) == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert assign_main_positions(repo, "d") == 0


def test_history_cut_at_the_backfill_window_starts_at_zero():
    repo = RepositoryFactory()
    _commit(repo, "y", "x-not-synced")
    _commit(repo, "z", "y")
    assign_main_positions(repo, "z")
    assert _positions(repo) == {"y": 0, "z": 1}


def test_a_commit_that_is_its_own_parent_ends_the_line_instead_of_recursing_forever(queries_time_out, caplog):
    repo = RepositoryFactory()
    _commit(repo, "a", "a")  # as in one of GitHub's own documentation examples
    _commit(repo, "b", "a")
    _commit(repo, "c", "b")

    with caplog.at_level(logging.WARNING, logger="delivery.github.main_line"):
        assert assign_main_positions(repo, "c") == 3

    assert _positions(repo) == {"a": 0, "b": 1, "c": 2}
    assert "cycle" in caplog.text and "commit a has a" in caplog.text


def test_a_longer_cycle_is_cut_where_it_closes_and_reported(queries_time_out):
    repo = RepositoryFactory()
    _commit(repo, "a", "d")  # a → d → c → b → a → ...
    _commit(repo, "b", "a")
    _commit(repo, "c", "b")
    _commit(repo, "d", "c")
    _commit(repo, "e", "d")
    anomalies: list[str] = []

    assert assign_main_positions(repo, "e", anomalies=anomalies) == 5

    assert _positions(repo) == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    assert len(anomalies) == 1 and "commit a has d" in anomalies[0]


def test_a_self_parent_commit_from_github_does_not_hang_the_sync(queries_time_out, simulator, gh_client):
    world = simulator.world
    api = world.repo("api")
    head = api.main_sha
    simulator.faults.add(
        kind="malformed_item", path_contains="/repos/acme/api/commits", patch={"parents": [{"sha": head}]}
    )
    repository = followed_repository(simulator)

    summary = repository_sync(repository_id=repository.pk, client=gh_client)

    run = SyncRun.objects.get(repository=repository)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert any("cycle" in reason for reason in summary.skipped)
    assert repository.commits.get(sha=head).main_position == 0
