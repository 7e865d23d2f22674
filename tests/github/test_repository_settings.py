"""Admins edit a repository's delivery settings in the app; the checklist is lines; bad input is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from delivery.accounts.models import AuditEvent
from delivery.github.forms import RepositorySettingsForm
from delivery.github.models import Repository
from tests.conftest import member
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


def _form_data(repo: Repository, **changes: Any) -> dict[str, Any]:
    data = {k: v for k, v in model_to_dict(repo, fields=RepositorySettingsForm._meta.fields).items() if v is not None}
    data["checklist"] = RepositorySettingsForm(instance=repo).fields["checklist"].initial
    data.update(changes)
    return data


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(member("ada", role="admin"))
    return client


def test_an_admin_changes_settings_and_the_checklist(admin: Client) -> None:
    repo = RepositoryFactory()
    page = admin.get(reverse("repository-settings", args=[repo.pk])).content.decode()
    assert "Watch logs and metrics for the whole window (after the window)" in page
    checklist = "Open the shop\nWatch the dashboards (after the window)\nDecide: keep or roll back"
    response = admin.post(
        reverse("repository-settings", args=[repo.pk]),
        _form_data(
            repo,
            monitoring_window_minutes=45,
            checklist=checklist,
            logs_url_template="https://logs.example/?sha={sha}",
            slack_channel="#deploys-api",
        ),
    )
    assert response.status_code == 302
    repo.refresh_from_db()
    assert repo.monitoring_window_minutes == 45 and repo.slack_channel == "#deploys-api"
    assert repo.checklist_template == [
        {"key": "open-the-shop", "text": "Open the shop"},
        {"key": "watch-the-dashboards", "text": "Watch the dashboards", "requires_full_window": True},
        {"key": "decision", "text": "Decide: keep or roll back"},
    ]
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SETTINGS_CHANGED)
    assert event.repository == repo and "Watch window (minutes)" in event.summary


def test_bad_settings_are_refused_with_the_reason_and_nothing_saved(admin: Client) -> None:
    repo = RepositoryFactory()
    response = admin.post(
        reverse("repository-settings", args=[repo.pk]),
        _form_data(repo, checklist=" \n ", logs_url_template="javascript:alert(1)", monitoring_window_minutes=0),
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "at least one item" in body and "A link starts with https://" in body
    repo.refresh_from_db()
    assert repo.monitoring_window_minutes == 30 and repo.logs_url_template == ""


def test_only_admins_edit_settings(client: Any) -> None:
    repo = RepositoryFactory()
    assert client.get(reverse("repository-settings", args=[repo.pk])).status_code == 403  # a developer
    assert (
        client.post(reverse("repository-settings", args=[repo.pk]), _form_data(repo, slack_channel="x")).status_code
        == 403
    )
    repo.refresh_from_db()
    assert repo.slack_channel == ""


def test_saving_settings_leaves_what_workers_wrote_meanwhile(admin: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    repo = RepositoryFactory()
    form = _form_data(repo, slack_channel="#x")
    lease = timezone.now() + timedelta(minutes=10)
    Repository.objects.filter(pk=repo.pk).update(
        sync_lease_until=lease, sync_lease_owner="worker-1", derive_pending=True
    )
    assert admin.post(reverse("repository-settings", args=[repo.pk]), form).status_code == 302
    repo.refresh_from_db()
    assert repo.slack_channel == "#x"
    assert (repo.sync_lease_until, repo.sync_lease_owner, repo.derive_pending) == (lease, "worker-1", True)


@pytest.mark.parametrize(
    "template",
    ["https://x/?q={sha", "https://x/{0}", "https://x/{sha.x}", "https://x/{nope}", "https://x/{sha[0]}"],
)
def test_a_link_template_that_cannot_be_filled_in_is_refused(admin: Client, template: str) -> None:
    repo = RepositoryFactory()
    response = admin.post(reverse("repository-settings", args=[repo.pk]), _form_data(repo, logs_url_template=template))
    assert response.status_code == 400 and "{short_sha}" in response.content.decode()
    repo.refresh_from_db()
    assert repo.logs_url_template == ""


def test_saving_without_a_change_changes_and_records_nothing(admin: Client) -> None:
    repo = RepositoryFactory()
    form = _form_data(repo)
    form["checklist"] = form["checklist"].replace("\n", "\r\n")  # as a browser sends a textarea
    assert admin.post(reverse("repository-settings", args=[repo.pk]), form).status_code == 302
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.SETTINGS_CHANGED).exists()
