"""The release page: the deployment, the changes it brought, its owners, its status history."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.github.models import DeploymentStatus
from delivery.pipeline.models import Release
from tests.conftest import SIGNED_IN_PAGE_QUERIES
from tests.factories import DeveloperFactory
from tests.pipeline.test_derive import History, at

pytestmark = pytest.mark.django_db


def _released(changes: int) -> tuple[History, Release]:
    h = History()
    people = [DeveloperFactory(login=f"dev{i}") for i in range(3)]
    for i in range(changes):
        h.merge(people[i % 3], opened=i, merged=i + 1)
    deployment = h.deploy("production", len(h.commits) - 1, changes + 10)
    DeploymentStatus.objects.create(
        github_id=1, deployment=deployment, state="in_progress", created_at=at(changes + 5), description="Deploying"
    )
    h.derive()
    return h, Release.objects.get(deployment=deployment)


def test_release_page_shows_its_changes_owners_and_statuses(client: Any) -> None:
    _, release = _released(4)
    response = client.get(reverse("release", args=[release.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["changes"]) == 4
    assert [o.login for o in response.context["owners"]] == ["dev0", "dev1", "dev2"]
    assert [s.state for s in response.context["statuses"]] == ["in_progress", "success"]
    assert "Deploying" in body and "Changes it brought" in body


def test_change_and_repository_pages_link_to_the_release(client: Any) -> None:
    h, release = _released(1)
    change = release.changes.get()
    url = reverse("release", args=[release.pk])
    assert url in client.get(reverse("change", args=[change.pk])).content.decode()
    assert url in client.get(reverse("repository", args=[h.repo.pk])).content.decode()


@pytest.mark.parametrize("changes", [2, 40])
def test_release_page_query_count_does_not_grow_with_its_changes(client: Any, changes: int) -> None:
    _, release = _released(changes)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("release", args=[release.pk])).status_code == 200
    assert len(queries) == 13 + SIGNED_IN_PAGE_QUERIES, [q["sql"][:100] for q in queries]  # its incidents, its tasks
