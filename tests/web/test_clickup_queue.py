"""My queue's ClickUp side (issue 18): a person's ClickUp account, matched by a verified e-mail address or chosen on
their page, and the tasks of the followed lists assigned to them in ClickUp that no change names yet."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import user_logged_in as allauth_logged_in
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.accounts.models import AuditEvent, Developer
from delivery.clickup.client import RateLimited
from delivery.clickup.models import AssignedTask, WorkspaceMember
from delivery.flows.task_links import task_links_written
from delivery.flows.task_queues import clickup_queues_read
from delivery.pipeline.models import Change, Stage
from delivery.web import signin
from tests.conftest import member
from tests.factories import PullRequestFactory, RepositoryFactory
from tools.clickup_server import ClickUpServer, Task

pytestmark = pytest.mark.django_db
LIST = "77"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _verified(user: Any, email: str) -> None:
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)


@pytest.fixture
def ada(clickup: ClickUpServer, settings: Any) -> Any:
    """ada signs in with a verified address the workspace's Ada Lovelace has; the list 77 is followed."""
    settings.CLICKUP_QUEUE_LISTS = [LIST]
    user = member("ada")
    _verified(user, "Ada.Lovelace@example.com")
    for n, (name, who) in enumerate([("Audit export", "Ada Lovelace"), ("Dark mode", "Ada Lovelace")]):
        clickup.add_task(Task(f"86q{n}", name, custom_id=f"PRJ-{70 + n}", assignees=[who], list_id=LIST))
    clickup.add_task(Task("86q9", "Grace's", custom_id="PRJ-79", assignees=["Grace Hopper"], list_id=LIST))
    clickup.add_task(Task("86q8", "Elsewhere", custom_id="PRJ-78", assignees=["Ada Lovelace"], list_id="88"))
    return user


def test_members_are_matched_by_verified_address_and_their_tasks_read(ada: Any, clickup: ClickUpServer) -> None:
    unverified = member("grace")
    EmailAddress.objects.create(user=unverified, email="grace.hopper@example.com", verified=False)
    read = clickup_queues_read()
    assert read.members == WorkspaceMember.objects.count() and read.matched == 1
    assert ada.developer.__class__.objects.get(pk=ada.developer.pk).clickup_user_id == str(
        clickup.member("Ada Lovelace").id
    )
    assert Developer.objects.get(login="grace").clickup_user_id == ""  # not verified: not hers for sure
    assert sorted(AssignedTask.objects.values_list("custom_id", "list_id")) == [("PRJ-70", LIST), ("PRJ-71", LIST)]
    assert "assignees%5B%5D=" + str(clickup.member("Ada Lovelace").id) in clickup.requests[-1].path


def test_an_address_two_people_share_matches_nobody_and_a_choice_made_by_hand_stays(
    ada: Any, clickup: ClickUpServer
) -> None:
    twin = member("ada2")
    _verified(twin, "ada.lovelace@example.com")
    assert clickup_queues_read().matched == 0
    Developer.objects.filter(login="ada2").update(clickup_set_by_hand=True)  # ada2 said: none
    assert clickup_queues_read().matched == 1
    assert Developer.objects.get(login="ada2").clickup_user_id == ""


def test_a_long_list_is_read_page_by_page(ada: Any, clickup: ClickUpServer) -> None:
    for n in range(5):
        clickup.add_task(Task(f"86p{n}", f"More {n}", assignees=["Ada Lovelace"], list_id=LIST))
    clickup.page_size = 2
    clickup_queues_read()
    assert AssignedTask.objects.filter(list_id=LIST).count() == 7


def test_a_rate_limit_comes_through_and_keeps_what_was_read(ada: Any, clickup: ClickUpServer) -> None:
    clickup_queues_read()
    clickup.rate_limit_next(1, reset_in=30)
    with pytest.raises(RateLimited):
        clickup_queues_read()
    assert AssignedTask.objects.count() == 2


def test_my_queue_shows_my_tasks_no_change_names(ada: Any, clickup: ClickUpServer, settings: Any) -> None:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    clickup_queues_read()
    repository = RepositoryFactory()
    started = PullRequestFactory(repository=repository, title="PRJ-70 audit export", author=ada.developer)
    Change.objects.create(repository=repository, pull_request=started, title=started.title, author=ada.developer)
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    browser = Client()
    browser.force_login(ada)
    text = _text(browser.get(reverse("my-queue")).content.decode()).split("My ClickUp tasks")[1]
    assert text.startswith(" as Ada Lovelace (matched by e-mail)")
    assert "PRJ-71 Dark mode to do" in text and "PRJ-70" not in text  # a change names PRJ-70
    assert "Grace's" not in text and "Elsewhere" not in text
    Change.objects.update(stage=Stage.CLOSED)  # closed unmerged: the task waits again
    assert "PRJ-70 Audit export" in _text(browser.get(reverse("my-queue")).content.decode()).split("My ClickUp")[1]


def test_the_queue_reads_the_tasks_in_the_same_queries_for_two_or_twenty(ada: Any, clickup: ClickUpServer) -> None:
    clickup_queues_read()
    browser = Client()
    browser.force_login(ada)
    browser.get(reverse("my-queue"))
    with CaptureQueriesContext(connection) as few:
        browser.get(reverse("my-queue"))
    for n in range(18):
        clickup.add_task(Task(f"86m{n}", f"Task {n}", assignees=["Ada Lovelace"], list_id=LIST))
    clickup_queues_read()
    with CaptureQueriesContext(connection) as many:
        page = browser.get(reverse("my-queue")).content.decode()
    assert page.count('class="task-link"') == 20
    assert len(many) == len(few)


def test_a_person_chooses_their_account_and_an_admin_may_too(ada: Any, clickup: ClickUpServer) -> None:
    clickup_queues_read()
    grace_id = str(clickup.member("Grace Hopper").id)
    browser = Client()
    browser.force_login(ada)
    response = browser.post(reverse("person-clickup", args=["ada"]), {"user_id": grace_id}, follow=True)
    assert "ClickUp account saved." in response.content.decode()
    developer = Developer.objects.get(login="ada")
    assert (developer.clickup_user_id, developer.clickup_set_by_hand) == (grace_id, True)
    assert "ada's ClickUp account: Grace Hopper" in AuditEvent.objects.get(target_type="developer").summary
    assert "as Grace Hopper" in _text(response.content.decode())  # chosen: no "matched by e-mail"

    refused = browser.post(reverse("person-clickup", args=["ada"]), {"user_id": "999999"}, follow=True)
    assert "Choose a member of the ClickUp workspace, or none." in refused.content.decode()
    assert Developer.objects.get(login="ada").clickup_user_id == grace_id

    other = Client()
    other.force_login(member("bo"))
    assert other.post(reverse("person-clickup", args=["ada"]), {"user_id": ""}).status_code == 403
    admin = Client()
    admin.force_login(member("root", role="admin"))
    assert admin.post(reverse("person-clickup", args=["ada"]), {"user_id": ""}).status_code == 302
    assert Developer.objects.get(login="ada").clickup_user_id == ""
    assert 'name="user_id"' not in other.get(reverse("person", args=["ada"])).content.decode()  # not theirs to set


def test_without_clickup_settings_the_queue_says_so(client: Any, clickup_server: ClickUpServer) -> None:
    text = _text(client.get(reverse("my-queue")).content.decode())
    assert "ClickUp not configured" in text
    assert clickup_queues_read().members == 0 and clickup_server.requests == []


def test_a_sign_in_matches_the_accounts_at_once(
    ada: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(signin, "task_queue", lambda name: queued.append(name))
    with django_capture_on_commit_callbacks(execute=True):
        allauth_logged_in.send(sender=ada.__class__, request=None, user=ada)
    assert queued == ["flows.clickup_queues"]
    settings.CLICKUP_TOKEN = ""  # ClickUp not configured: nothing asked
    with django_capture_on_commit_callbacks(execute=True):
        allauth_logged_in.send(sender=ada.__class__, request=None, user=ada)
    assert queued == ["flows.clickup_queues"]
