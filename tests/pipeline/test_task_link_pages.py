"""A change's ClickUp tasks on the board's cards and the change page: name, status, assignees and a link, or why
not, in words; the pages' queries do not grow with the links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.clickup.models import TaskStatusChange
from delivery.flows.task_links import task_links_refreshed, task_links_written
from delivery.pipeline.models import Change, Release, ReleaseChange, Stage, TaskLink
from tests.conftest import SIGNED_IN_PAGE_QUERIES
from tests.factories import DeploymentFactory, PullRequestFactory, RepositoryFactory
from tools.clickup_server import ClickUpServer

pytestmark = pytest.mark.django_db


def _change(repository: Any, title: str, *, branch: str = "topic", stage: str = Stage.IN_REVIEW) -> Change:
    pr = PullRequestFactory(repository=repository, title=title, head_ref=branch)
    return Change.objects.create(repository=repository, pull_request=pr, title=title, stage=stage)


def test_the_change_page_and_its_card_show_the_tasks_as_clickup_has_them(client: Any, clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    change = _change(repository, "Export invoices PRJ-2", branch="ana/CU-86b0x1y32-search")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    task_links_refreshed()

    page = client.get(reverse("change", args=[change.pk])).content.decode()
    assert '<a class="task-id" href="https://app.clickup.com/t/9012345/PRJ-2">PRJ-2</a>' in page
    assert "Export the invoices as CSV" in page and ">review<" in page and "Grace Hopper" in page
    assert "Faster search on the orders page" in page and "Alan Turing, Ada Lovelace" in page
    assert page.index(">CU-86b0x1y32</a>") < page.index(">PRJ-2</a>")  # the branch names it first
    assert "not configured" not in page

    board = client.get(reverse("board")).content.decode()
    assert 'aria-label="ClickUp tasks"' in board and "Export the invoices as CSV" in board


def test_a_deleted_task_and_an_outage_are_said_in_words(client: Any, clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    change = _change(repository, "CU-zz99zz99 gone, PRJ-1 kept")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    task_links_refreshed()
    TaskLink.objects.filter(clickup_task_id="PRJ-1").update(
        fetch_state=TaskLink.Fetch.UNREACHABLE, fetched_at=timezone.now() - timedelta(minutes=20)
    )

    page = client.get(reverse("change", args=[change.pk])).content.decode()
    assert "not found in ClickUp" in page
    assert "Sign-in with the company account" in page and "ClickUp not reachable; as read 20 min ago" in page


def test_without_clickup_settings_the_page_says_it_is_not_configured(client: Any) -> None:
    repository = RepositoryFactory()
    change = _change(repository, "Export CU-86b0x1y30")
    plain = _change(repository, "Fix #12")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)

    page = client.get(reverse("change", args=[change.pk])).content.decode()
    assert "ClickUp is not configured" in page
    assert '<a class="task-id" href="https://app.clickup.com/t/86b0x1y30">CU-86b0x1y30</a>' in page
    assert "ClickUp not configured" in page
    assert "No task named in its branch or title" in client.get(reverse("change", args=[plain.pk])).content.decode()
    assert client.get(reverse("board")).status_code == 200


@pytest.mark.parametrize("linked", [3, 30])
def test_the_board_s_queries_do_not_grow_with_the_linked_changes(
    client: Any, clickup: ClickUpServer, linked: int
) -> None:
    repository = RepositoryFactory()
    for i in range(linked):
        _change(repository, f"PRJ-{i % 4 + 1} and CU-86b0x1y3{i % 3} part {i}", stage=Stage.values[i % 6])
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    task_links_refreshed()
    assert TaskLink.objects.count() == 2 * linked

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("board")).status_code == 200
    board = len(queries)
    change = Change.objects.first()
    assert change is not None
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("change", args=[change.pk])).status_code == 200
    assert (board, len(queries)) == (QUERIES["board"], QUERIES["change"]), (board, len(queries))


QUERIES = {"board": 5 + SIGNED_IN_PAGE_QUERIES, "change": 8 + SIGNED_IN_PAGE_QUERIES}  # 8: the task's start


def test_the_admin_lists_the_links_with_how_their_read_went(admin_client: Any) -> None:
    repository = RepositoryFactory()
    _change(repository, "Export CU-86b0x1y30")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    listing = admin_client.get(reverse("admin:pipeline_tasklink_changelist"), {"fetch_state": "pending", "q": "86b"})
    assert listing.status_code == 200 and "86b0x1y30" in listing.content.decode()


def test_the_release_page_shows_the_tasks_of_the_changes_it_brought(client: Any, clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    change = _change(repository, "Export invoices PRJ-2", stage=Stage.IN_PRODUCTION)
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    task_links_refreshed()
    deployment = DeploymentFactory(repository=repository)
    release = Release.objects.create(
        repository=repository, deployment=deployment, environment="production", sha=deployment.sha, tag_name="v1"
    )
    ReleaseChange.objects.create(release=release, change=change)
    page = client.get(reverse("release", args=[release.pk])).content.decode()
    assert '<a class="task-id" href="https://app.clickup.com/t/9012345/PRJ-2">PRJ-2</a>' in page
    assert "Export the invoices as CSV" in page


def test_the_change_page_shows_the_lead_time_from_the_task_s_start_beside_the_first_commit_s(
    client: Any, settings: Any
) -> None:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    production = timezone.now() - timedelta(hours=1)
    repository = RepositoryFactory()
    change = _change(repository, "Export invoices PRJ-2 and CU-86b0x1y2z", stage=Stage.DONE)
    Change.objects.filter(pk=change.pk).update(
        first_commit_at=production - timedelta(hours=5), production_at=production
    )
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    TaskLink.objects.filter(clickup_task_id="PRJ-2").update(clickup_id="86b0x1y30")  # read: its own id is known
    page = client.get(reverse("change", args=[change.pk])).content.decode()
    assert "first commit to production: 5 h" in page and "task's start" not in page  # no move seen yet

    for task_id, status, hours in [
        ("86b0x1y30", "to do", 80),
        ("86b0x1y30", "In Progress", 50),
        ("86b0x1y2z", "in progress", 30),
    ]:
        TaskStatusChange.objects.create(
            task_id=task_id,
            history_id=f"{task_id}{hours}",
            status=status,
            changed_at=production - timedelta(hours=hours),
        )
    page = client.get(reverse("change", args=[change.pk])).content.decode()
    assert "first commit to production: 5 h · " in page
    assert "from the task's start (PRJ-2): 2 d<" in page  # its earliest move to "in progress", of either task
