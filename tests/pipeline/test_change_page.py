"""The change page: its timeline with the time between stages, its checks, deployments, reviews and commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.github.models import PullRequest, Review
from delivery.pipeline.models import Change, Release
from delivery.pipeline.services import release_mark_failed, releases_rolled_back
from tests.conftest import SIGNED_IN_PAGE_QUERIES
from tests.factories import DeveloperFactory, PullRequestFactory, TagFactory
from tests.metrics.history import History as MetricsHistory
from tests.pipeline.test_derive import History, at

pytestmark = pytest.mark.django_db


def _shipped(h: History, later_deploys: int = 0) -> PullRequest:
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    pr = h.merge(ana, opened=0, merged=60, first_commit=-30)
    h.review(pr, ben, Review.State.APPROVED, 45)
    h.deploy("staging", 1, 75)
    TagFactory(repository=h.repo, name="v1.4.0", sha=h.commits[1].sha, created_at=at(80))
    h.deploy("production", 1, 95)
    for i in range(later_deploys):
        h.merge(ana, opened=100 + i, merged=101 + i)
        h.deploy("production", len(h.commits) - 1, 102 + i)
    h.derive(now=200)
    return pr


def test_change_page_tells_the_whole_story(client: Any) -> None:
    h = History()
    pr = _shipped(h)
    change = Change.objects.get(pull_request=pr)
    response = client.get(reverse("change", args=[change.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    steps = {s.label: s for s in response.context["steps"]}
    assert steps["Merged"].since_previous.total_seconds() == 15 * 60  # approved at 45, merged at 60
    assert steps["In production"].at == at(95)
    assert "first commit to production: 2 h 5 min" in body
    assert "v1.4.0" in body and "staging" in body and "production" in body
    assert "ben</strong> approved" in body
    assert "Merged without the required approvals" in body  # every check is listed, with its result
    assert response.context["tag"].name == "v1.4.0"
    assert [r.deployment.environment for r in response.context["releases"]] == ["production"]


def test_board_cards_link_to_the_change_page(client: Any) -> None:
    h = History()
    pr = PullRequestFactory(repository=h.repo, base_ref="main")  # in review, so on the board
    h.derive()
    change = Change.objects.get(pull_request=pr)
    body = client.get(reverse("board")).content.decode()
    assert reverse("change", args=[change.pk]) in body


def test_unknown_change_is_404(client: Any) -> None:
    assert client.get(reverse("change", args=[999_999])).status_code == 404


@pytest.mark.parametrize("later_deploys", [1, 25])
def test_change_page_query_count_does_not_grow_with_the_history(client: Any, later_deploys: int) -> None:
    h = History()
    pr = _shipped(h, later_deploys=later_deploys)
    change = Change.objects.get(pull_request=pr)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("change", args=[change.pk])).status_code == 200
    assert len(queries) == 9 + SIGNED_IN_PAGE_QUERIES  # with its ClickUp tasks, [q["sql"][:100] for q in queries]


def test_a_change_whose_release_was_rolled_back_says_so(client: Any) -> None:
    h = MetricsHistory()
    pr = h.merge(DeveloperFactory(), opened=0, merged=30, first_commit=-10)
    deployment = h.deploy("production", 1, 40)
    h.derive()
    release = Release.objects.get(deployment=deployment)
    release_mark_failed(release, reason="Rolled back: checkout 500s", now=release.deployed_at)
    releases_rolled_back(release_ids=[release.pk])

    page = client.get(f"/changes/{Change.objects.get(pull_request=pr).pk}/").content.decode()

    assert '<span class="badge badge-bad">rolled back</span>' in page and "Rolled back: checkout 500s" in page
