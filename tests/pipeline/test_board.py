"""The pipeline board: columns by stage, filters kept in the URL, an htmx refresh, constant queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.pipeline.models import Change, Stage
from tests.conftest import SIGNED_IN_PAGE_QUERIES
from tests.factories import DeveloperFactory, PullRequestFactory, RepositoryFactory

pytestmark = pytest.mark.django_db


def _change(repository: Any, author: Any, stage: str, title: str, **extra: Any) -> Change:
    pr = PullRequestFactory(repository=repository, author=author, title=title)
    return Change.objects.create(
        repository=repository, pull_request=pr, title=title, author=author, stage=stage, **extra
    )


def test_board_shows_each_change_in_its_column_with_checks_and_next_step(client: Any) -> None:
    api, web = RepositoryFactory(name="api", full_name="acme/api"), RepositoryFactory(name="web", full_name="acme/web")
    ana = DeveloperFactory(login="ana")
    _change(
        api,
        ana,
        Stage.IN_REVIEW,
        "Retry webhooks",
        failed_checks=["stale", "no_preview"],
        next_owner=ana,
        next_action="Address the review, or approve",
    )
    _change(web, ana, Stage.TAGGED, "Speed up search", next_action="Deploy the tag to production")
    _change(web, ana, Stage.DONE, "Old news", production_at=timezone.now() - timedelta(days=3))
    _change(web, ana, Stage.CLOSED, "Abandoned")

    response = client.get(reverse("board"))
    body = response.content.decode()
    assert response.status_code == 200
    columns = {c.stage: [x.title for x in c.changes] for c in response.context["columns"]}
    assert columns[Stage.IN_REVIEW] == ["Retry webhooks"] and columns[Stage.TAGGED] == ["Speed up search"]
    assert columns[Stage.DONE] == []  # done more than 24 h ago
    assert "Abandoned" not in body
    assert "Stale: older than the branch age limit" in body and "No successful preview deployment" in body
    assert "Address the review, or approve" in body


def test_board_filters_by_repository_and_person_and_keeps_them_in_the_refresh(client: Any) -> None:
    api, web = RepositoryFactory(full_name="acme/api"), RepositoryFactory(full_name="acme/web")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    _change(api, ana, Stage.MERGED, "Ana on api")
    _change(web, ben, Stage.MERGED, "Ben on web")
    _change(web, ana, Stage.MERGED, "Ana on web", next_owner=ben)

    body = client.get(reverse("board"), {"repository": "acme/web", "person": "ben"}).content.decode()
    assert "Ben on web" in body and "Ana on web" in body  # ben is the author of one, next owner of the other
    assert "Ana on api" not in body
    assert 'hx-get="/board/?repository=acme%2Fweb&amp;person=ben"' in body  # the live refresh keeps the filters


def test_htmx_refresh_returns_only_the_columns(client: Any) -> None:
    _change(RepositoryFactory(), DeveloperFactory(), Stage.IN_PROGRESS, "Work in progress")
    body = client.get(reverse("board"), headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<div id="board-columns"') and "<html" not in body
    assert "Work in progress" in body


def test_empty_board_says_what_will_appear(client: Any) -> None:
    assert "No changes yet" in client.get(reverse("board")).content.decode()


def test_a_filter_naming_nothing_says_so_and_the_select_shows_it(client: Any) -> None:
    _change(RepositoryFactory(full_name="acme/api"), DeveloperFactory(login="ana"), Stage.MERGED, "On its way")
    response = client.get(reverse("board"), {"repository": "acme/nope"})
    body = response.content.decode()
    assert "No repository acme/nope" in body and "No changes yet" not in body
    assert '<option value="acme/nope" selected>acme/nope (no such repository)</option>' in body
    assert '<option value="acme/api">acme/api</option>' in body
    person = client.get(reverse("board"), {"person": "nobody-here"}).content.decode()
    assert "No person nobody-here" in person and "(nobody by that name)" in person
    # the filter changed in place (htmx): the message comes along, out of band
    partial = client.get(reverse("board"), {"repository": "acme/nope"}, headers={"HX-Request": "true"})
    assert 'id="board-empty" hx-swap-oob="true"' in partial.content.decode()
    assert "No repository acme/nope" in partial.content.decode()


def test_filters_that_match_nothing_now_say_so_not_the_first_run(client: Any) -> None:
    api = RepositoryFactory(full_name="acme/api")
    RepositoryFactory(full_name="acme/web")
    DeveloperFactory(login="ben")
    _change(api, DeveloperFactory(login="ana"), Stage.MERGED, "On its way")
    body = client.get(reverse("board"), {"repository": "acme/web", "person": "ben"}).content.decode()
    assert "Nothing matches these filters" in body and "No change of acme/web by or waiting for ben" in body
    assert "No changes yet" not in body and "No repository" not in body
    assert '<option value="acme/web" selected>acme/web</option>' in body
    # a board with history and nothing in flight is not a first run either
    Change.objects.update(stage=Stage.DONE, production_at=timezone.now() - timedelta(days=3))
    quiet = client.get(reverse("board")).content.decode()
    assert "Nothing in flight" in quiet and "No changes yet" not in quiet
    # and a board with cards has no empty state at all
    Change.objects.update(stage=Stage.MERGED)
    busy = client.get(reverse("board")).content.decode()
    assert 'id="board-empty"' in busy and 'class="card empty"' not in busy


@pytest.mark.parametrize("changes", [10, 1000])
def test_board_query_count_does_not_grow_with_the_changes(client: Any, changes: int) -> None:
    repositories = [RepositoryFactory() for _ in range(3)]
    people = [DeveloperFactory() for _ in range(4)]
    stages = [s for s in Stage.values if s != Stage.CLOSED]
    now = timezone.now()
    Change.objects.bulk_create(
        Change(
            repository=repositories[i % 3],
            title=f"Change {i}",
            author=people[i % 4],
            next_owner=people[(i + 1) % 4],
            stage=stages[i % len(stages)],
            production_at=now if stages[i % len(stages)] in (Stage.DONE, Stage.IN_PRODUCTION) else None,
            failed_checks=["stale"] if i % 3 else [],
        )
        for i in range(changes)
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("board"))
    assert response.status_code == 200
    # the columns, their ClickUp tasks, the repositories, the people, the rollbacks
    assert len(queries) == 5 + SIGNED_IN_PAGE_QUERIES, [q["sql"][:100] for q in queries]
