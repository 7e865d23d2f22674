"""The repository list (the home page for now) and the health check."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery.github.models import SyncRun
from tests.conftest import SIGNED_IN_PAGE_QUERIES
from tests.factories import (
    CommitFactory,
    DeploymentFactory,
    PullRequestFactory,
    RepositoryFactory,
    SyncRunFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def _repositories(n: int) -> None:
    for _ in range(n):
        repo = RepositoryFactory()
        PullRequestFactory.create_batch(2, repository=repo)
        CommitFactory(repository=repo, main_position=0)
        TagFactory(repository=repo)
        DeploymentFactory(repository=repo)
        SyncRunFactory(repository=repo)


def test_home_lists_repositories_with_counts_and_sync_status(client):
    repo = RepositoryFactory(full_name="acme/api", name="api")
    PullRequestFactory.create_batch(3, repository=repo)
    SyncRunFactory(repository=repo, status=SyncRun.Status.FAILED, error="GitHub answered 500")
    RepositoryFactory(full_name="acme/old", name="old", archived=True)

    response = client.get(reverse("repositories"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "acme/api" in body and "acme/old" in body and "archived" in body
    assert "GitHub answered 500" in body
    assert response.context["repositories"][0].open_pull_requests == 3


def test_home_shows_an_empty_state_before_the_first_sync(client):
    response = client.get(reverse("repositories"))
    assert "No repositories yet" in response.content.decode()


def test_home_query_count_does_not_grow_with_the_data(client, django_assert_num_queries):
    _repositories(1)
    with django_assert_num_queries(4 + SIGNED_IN_PAGE_QUERIES) as small:
        client.get(reverse("repositories"))
    _repositories(30)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("repositories"))


def test_htmx_refresh_returns_only_the_table(client):
    _repositories(2)
    response = client.get(reverse("repositories"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'id="repository-table"' in body and "<html" not in body


def test_sync_now_runs_the_repository_sync(client, github, django_capture_on_commit_callbacks):
    from delivery.celery import app as celery_app

    repo = RepositoryFactory(owner=github.world.org_login, name="api", full_name=f"{github.world.org_login}/api")
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("repository-sync", args=[repo.pk]))
    finally:
        celery_app.conf.task_always_eager = False
    assert response.status_code == 302
    run = SyncRun.objects.get(repository=repo)
    assert (run.trigger, run.status) == ("manual", SyncRun.Status.SUCCEEDED)
    assert repo.pull_requests.count() == len(github.world.repo("api").pulls)
