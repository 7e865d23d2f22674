"""The repository page: what is live where, each environment's deployments, changes in flight, tags, settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.pipeline.models import Change, Stage
from tests.conftest import SIGNED_IN_PAGE_QUERIES
from tests.factories import DeveloperFactory, PullRequestFactory, TagFactory
from tests.pipeline.test_derive import History

pytestmark = pytest.mark.django_db


def _history(deploys: int) -> History:
    h = History()
    dev = DeveloperFactory(login="ana")
    for i in range(deploys):
        h.merge(dev, opened=i * 10, merged=i * 10 + 5)
        h.deploy("staging", len(h.commits) - 1, i * 10 + 6)
        h.deploy("production", len(h.commits) - 1, i * 10 + 8)
    TagFactory(repository=h.repo, name="v9.9.9", sha=h.commits[-1].sha)
    h.deploy("production", len(h.commits) - 1, deploys * 10 + 20, state="failure")
    PullRequestFactory(repository=h.repo, base_ref="main", title="Still in review")
    h.derive()
    return h


def test_repository_page_shows_what_is_live_and_what_is_coming(client: Any) -> None:
    h = _history(3)
    response = client.get(reverse("repository", args=[h.repo.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    production, staging = response.context["environments"]
    assert production.live.sha == h.commits[-1].sha and production.live_tag == "v9.9.9"
    assert production.history[0].state == "failure"  # the newest deployment failed; the live one is older
    assert staging.live.sha == h.commits[-1].sha
    assert "Still in review" in body and Change.objects.filter(stage=Stage.IN_REVIEW).exists()
    assert "Branch age limit" in body and "48 h" in body


def test_repository_list_links_to_the_repository_page(client: Any) -> None:
    h = _history(1)
    assert reverse("repository", args=[h.repo.pk]) in client.get(reverse("repositories")).content.decode()


@pytest.mark.parametrize("deploys", [2, 30])
def test_repository_page_query_count_does_not_grow_with_the_history(client: Any, deploys: int) -> None:
    h = _history(deploys)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("repository", args=[h.repo.pk])).status_code == 200
    assert len(queries) == 11 + SIGNED_IN_PAGE_QUERIES, [q["sql"][:100] for q in queries]


def test_tags_are_newest_first_by_their_place_on_main_not_by_name(client: Any) -> None:
    from tests.factories import CommitFactory, RepositoryFactory, TagFactory

    repo = RepositoryFactory()
    for position, name in enumerate(["v1.20.9", "v1.20.10", "v1.20.30"]):
        commit = CommitFactory(repository=repo, main_position=position)
        TagFactory(repository=repo, name=name, sha=commit.sha, created_at=None)
    tags = [t.name for t in client.get(reverse("repository", args=[repo.pk])).context["tags"]]
    assert tags == ["v1.20.30", "v1.20.10", "v1.20.9"]
