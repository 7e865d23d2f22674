"""A change's ClickUp tasks: linked from its branch and title, read from the ClickUp stand-in, and what an outage,
a rate limit or a deleted task leave behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from delivery.clickup.client import ClickUpClient, ClickUpUnavailable, RateLimited
from delivery.flows import task_links as task_links_flow
from delivery.flows.changes import repository_changed
from delivery.flows.task_links import task_links_refreshed, task_links_written
from delivery.flows.tasks import task_links_refresh_task
from delivery.github.models import PullRequest
from delivery.pipeline.models import Change, Stage, TaskLink
from tests.factories import DeveloperFactory, PullRequestFactory, RepositoryFactory
from tests.pipeline.test_derive import History, at
from tools.clickup_server import ClickUpServer

pytestmark = pytest.mark.django_db


def _change(repository: Any, *, title: str, branch: str = "topic", stage: str = Stage.IN_REVIEW) -> Change:
    pr = PullRequestFactory(repository=repository, title=title, head_ref=branch)
    return Change.objects.create(repository=repository, pull_request=pr, title=title, stage=stage)


def _links(change: Change) -> list[tuple[str, bool, str]]:
    return [(link.clickup_task_id, link.custom, link.fetch_state) for link in change.task_links.all()]


def test_a_change_links_every_task_its_branch_and_title_name(settings: Any) -> None:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    repository = RepositoryFactory()
    change = _change(repository, title="PRJ-2: export (and CU-86b0x1y2z), fixes #12", branch="ana/prj-2-export")
    plain = _change(repository, title="Fix #12")

    assert task_links_written(repository_id=repository.pk, pull_request_ids=None) == ["86b0x1y2z", "PRJ-2"]
    assert _links(change) == [("PRJ-2", True, "pending"), ("86b0x1y2z", False, "pending")]
    assert _links(plain) == []


def test_a_retitled_pull_request_keeps_its_named_tasks_and_drops_the_others(settings: Any) -> None:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    repository = RepositoryFactory()
    change = _change(repository, title="PRJ-1 and PRJ-2")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    kept = change.task_links.get(clickup_task_id="PRJ-2")
    PullRequest.objects.filter(pk=change.pull_request_id).update(title="PRJ-2 and PRJ-3")

    assert task_links_written(repository_id=repository.pk, pull_request_ids=[change.pull_request_id]) == ["PRJ-3"]
    assert [link.clickup_task_id for link in change.task_links.all()] == ["PRJ-2", "PRJ-3"]
    assert change.task_links.get(clickup_task_id="PRJ-2").pk == kept.pk
    assert task_links_written(repository_id=repository.pk, pull_request_ids=None) == []  # again: nothing new


def test_the_tasks_are_read_from_clickup_and_stored_on_every_link(clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    first = _change(repository, title="PRJ-2 export")
    second = _change(repository, title="Export, the rest", branch="CU-86b0x1y30-rest")
    gone = _change(repository, title="CU-zz99zz99 an old task")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)

    result = task_links_refreshed()

    assert sorted(result.found) == ["86b0x1y30", "PRJ-2"] and result.not_found == ["zz99zz99"]
    for change in (first, second):
        link = change.task_links.get()
        assert (link.name, link.status, link.assignee_names, link.fetch_state) == (
            "Export the invoices as CSV",
            "review",
            "Grace Hopper",
            "found",
        )
        assert link.url == "https://app.clickup.com/t/9012345/PRJ-2"
    assert gone.task_links.get().fetch_state == "not_found"
    asked = len(clickup.requests)
    assert task_links_refreshed().found == []  # fresh: not read again before CLICKUP_REFRESH_MINUTES
    assert len(clickup.requests) == asked


def test_an_outage_keeps_what_was_read_and_says_clickup_is_not_reachable(clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    change = _change(repository, title="PRJ-1 sign-in")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    task_links_refreshed()
    TaskLink.objects.update(fetched_at=timezone.now() - timedelta(hours=1))
    clickup.fail_next(1, status=503)

    with pytest.raises(ClickUpUnavailable):
        task_links_refreshed()

    link = change.task_links.get()
    assert (link.fetch_state, link.name) == ("unreachable", "Sign-in with the company account")


def test_a_rate_limit_stops_the_run_and_keeps_the_tasks_read_before_it(clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    _change(repository, title="PRJ-1")
    _change(repository, title="PRJ-2")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    clickup.rate_limit_next(1, reset_in=20)
    with pytest.raises(RateLimited):
        task_links_refreshed()
    assert TaskLink.objects.filter(fetch_state="pending").count() == 2
    assert len(task_links_refreshed().found) == 2


def test_the_task_waits_for_the_rate_limit_s_reset_as_a_countdown(clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    _change(repository, title="PRJ-1")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    clickup.rate_limit_next(1, reset_in=40)
    retried: dict[str, Any] = {}

    def retry(**options: Any) -> Exception:
        retried.update(options)
        return RuntimeError("retried")

    task_links_refresh_task.retry = retry  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="retried"):
            task_links_refresh_task.run()
    finally:
        del task_links_refresh_task.retry
    assert 38 <= retried["countdown"] <= 42 and isinstance(retried["exc"], RateLimited)


def test_the_task_backs_off_after_an_outage(clickup: ClickUpServer, settings: Any) -> None:
    repository = RepositoryFactory()
    _change(repository, title="PRJ-1")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    clickup.fail_next(1, status=500)
    retried: dict[str, Any] = {}

    def retry(**options: Any) -> Exception:
        retried.update(options)
        return RuntimeError("retried")

    task_links_refresh_task.retry = retry  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="retried"):
            task_links_refresh_task.run()
    finally:
        del task_links_refresh_task.retry
    assert settings.CLICKUP_RETRY_BACKOFF_SECONDS / 2 <= retried["countdown"] <= settings.CLICKUP_RETRY_BACKOFF_SECONDS


def test_without_clickup_settings_links_are_written_and_nothing_is_asked(clickup_server: ClickUpServer) -> None:
    repository = RepositoryFactory()
    change = _change(repository, title="CU-86b0x1y30 export")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    assert task_links_refreshed().found == []
    assert _links(change) == [("86b0x1y30", False, "pending")] and clickup_server.requests == []


def test_the_client_is_the_one_the_settings_name(clickup: ClickUpServer) -> None:
    assert ClickUpClient.from_settings().api_url == clickup.url + "/api/v2"


def test_tasks_of_changes_done_long_ago_are_not_read_again(clickup: ClickUpServer) -> None:
    repository = RepositoryFactory()
    old = _change(repository, title="PRJ-1 old", stage=Stage.DONE)
    Change.objects.filter(pk=old.pk).update(production_at=timezone.now() - timedelta(days=30))
    _change(repository, title="PRJ-2 recent", stage=Stage.IN_REVIEW)
    closed = _change(repository, title="PRJ-3 abandoned", stage=Stage.CLOSED)
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    assert sorted(task_links_refreshed().found) == ["PRJ-1", "PRJ-2"]  # a first read for every open link
    assert closed.task_links.get().fetch_state == "pending"
    TaskLink.objects.update(fetched_at=timezone.now() - timedelta(hours=1))

    assert task_links_refreshed().found == ["PRJ-2"]


def test_a_derivation_links_the_changes_it_derived(clickup: ClickUpServer, settings: Any) -> None:
    h = History()
    ana = DeveloperFactory(login="ana")
    pr = h.merge(ana, opened=0, merged=60, first_commit=-30)
    PullRequest.objects.filter(pk=pr.pk).update(title="Export the invoices PRJ-2", head_ref="ana/CU-86b0x1y2z-sso")
    repository_changed(repository_id=h.repo.pk, now=at(200))
    change = Change.objects.get(pull_request=pr)
    assert _links(change) == [("86b0x1y2z", False, "pending"), ("PRJ-2", True, "pending")]


def test_a_full_batch_asks_for_the_next_a_minute_later(clickup: ClickUpServer, monkeypatch: Any) -> None:
    queued: list[tuple[str, float | None]] = []
    monkeypatch.setattr(task_links_flow, "task_queue", lambda name, countdown=None: queued.append((name, countdown)))
    monkeypatch.setattr(task_links_flow, "REFRESH_BATCH", 2)
    repository = RepositoryFactory()
    _change(repository, title="PRJ-1, PRJ-2 and PRJ-3")
    task_links_written(repository_id=repository.pk, pull_request_ids=None)

    assert len(task_links_refreshed().found) == 2
    assert queued == [("flows.task_links_refresh", 60)]
    assert len(task_links_refreshed().found) == 1 and len(queued) == 1  # the last one: nothing more to ask
