"""Who is asked to review each pull request: from the sync and from webhooks, newest copy wins."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.github.ingest import ingest_pull_requests
from delivery.github.models import PullRequest, ReviewRequest
from tests.conftest import sync_all
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


def _user(n: int, login: str) -> dict[str, Any]:
    return {"id": n, "login": login, "type": "User", "avatar_url": "", "html_url": ""}


def _pr(updated_at: str, reviewers: list[dict[str, Any]], state: str = "open") -> dict[str, Any]:
    return {
        "id": 501,
        "number": 7,
        "title": "Add retries",
        "user": _user(1, "ana"),
        "state": state,
        "draft": False,
        "head": {"ref": "retries", "sha": "a" * 40},
        "base": {"ref": "main"},
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": updated_at,
        "requested_reviewers": reviewers,
    }


def _requested() -> set[str]:
    return set(ReviewRequest.objects.values_list("reviewer__login", flat=True))


def test_requests_follow_the_newest_copy_of_the_pull_request() -> None:
    repo = RepositoryFactory()
    ingest_pull_requests(repo, [_pr("2026-11-20T10:00:00Z", [_user(2, "ben"), _user(3, "cy")])])
    assert _requested() == {"ben", "cy"}

    ingest_pull_requests(repo, [_pr("2026-11-20T11:00:00Z", [_user(3, "cy")])])  # ben's request removed
    assert _requested() == {"cy"}

    ingest_pull_requests(repo, [_pr("2026-11-20T10:00:00Z", [_user(2, "ben"), _user(3, "cy")])])  # late, older
    assert _requested() == {"cy"}

    ingest_pull_requests(repo, [_pr("2026-11-20T12:00:00Z", [_user(3, "cy")], state="closed")])
    assert _requested() == set()
    assert PullRequest.objects.get().requested_reviewers.count() == 0


def test_the_sync_brings_every_open_pull_requests_reviewers(github: Any, gh_client: Any) -> None:
    sync_all(gh_client, github.world.org_login)
    expected = {
        (repo.name, pr.number, user.login)
        for repo in github.world.served_repos
        if not repo.archived
        for pr in repo.pulls.values()
        if pr.state == "open"
        for user in pr.requested_reviewers
        if not user.deleted
    }
    stored = set(
        ReviewRequest.objects.values_list("pull_request__repository__name", "pull_request__number", "reviewer__login")
    )
    assert stored == expected and expected  # the simulated org has some
