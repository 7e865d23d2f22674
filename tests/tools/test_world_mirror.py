"""The simulator's world written in bulk (tools/world_mirror.py, what the board benchmark measures) holds what the
sync stores from the same world over HTTP, so the benchmark's pages read the rows production's would."""

from __future__ import annotations

import pytest

from delivery.github.client import GitHubClient
from delivery.github.models import Branch, DeploymentStatus, PullRequest, ReviewRequest, Tag
from delivery.simulator.server import SimulatorServer
from tests.conftest import mirror_clear, mirror_snapshot, sync_all
from tools.world_mirror import mirror_from_world

pytestmark = pytest.mark.django_db


def test_a_world_written_in_bulk_is_what_a_full_sync_of_it_stores(
    simulator: SimulatorServer, gh_client: GitHubClient
) -> None:
    world = simulator.world
    sync_all(gh_client, world.org_login)
    synced, synced_node_ids = mirror_snapshot(), _status_node_ids()
    mirror_clear()

    mirror_from_world(world, base_url=simulator.url)

    written = mirror_snapshot()
    assert _status_node_ids() == synced_node_ids
    assert written.pop("workflow_runs") == [], "no page reads them"
    synced.pop("workflow_runs")
    assert written.keys() == synced.keys()
    for kind, rows in synced.items():
        assert written[kind] == rows, kind


def _status_node_ids() -> list[tuple[int | None, str | None]]:
    return sorted(DeploymentStatus.objects.values_list("github_id", "node_id"), key=repr)


def test_a_world_written_in_bulk_also_holds_what_only_webhooks_tell(simulator: SimulatorServer) -> None:
    world = simulator.world

    mirror_from_world(world)

    repo = world.served_repos[0]
    merged = [pr for pr in repo.pulls.values() if pr.merged_at and pr.head_ref not in repo.branches]
    deleted = Branch.objects.get(repository__github_id=repo.id, name=merged[-1].head_ref)
    assert deleted.deleted_at == merged[-1].closed_at and deleted.first_seen_at < merged[-1].created_at
    assert Branch.objects.filter(repository__github_id=repo.id, deleted_at=None).count() == len(repo.branches) - 1
    tag = next(reversed(repo.tags.values()))
    assert Tag.objects.get(repository__github_id=repo.id, name=tag.name).created_at == tag.created_at
    stored = PullRequest.objects.select_related("merged_by").get(github_id=merged[-1].id)
    assert stored.merged_by is not None and merged[-1].merged_by is not None
    assert (stored.merged_by.github_id, stored.additions) == (merged[-1].merged_by.id, merged[-1].additions)
    waiting = [pr for pr in repo.pulls.values() if pr.state == "open" and pr.requested_reviewers]
    assert waiting and all(
        set(ReviewRequest.objects.filter(pull_request__github_id=pr.id).values_list("reviewer__github_id", flat=True))
        == {u.id for u in pr.requested_reviewers}
        for pr in waiting
    )
    assert stored.html_url == f"https://github.com/{repo.full_name}/pull/{stored.number}"
