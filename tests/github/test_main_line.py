"""Positions on the default branch's first-parent line, computed in the database."""

from __future__ import annotations

import pytest

from delivery.github.models import Commit
from delivery.github.sync import assign_main_positions
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


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
