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
    form = RepositorySettingsForm(instance=repo)
    data["checklist"] = form.fields["checklist"].initial
    data["queries"] = form.fields["queries"].initial
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


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"monitoring_window_minutes": 0}, "monitoring_window_minutes", "The watch window is at least 1 minute."),
        (
            {"monitoring_window_minutes": 99999999999999999999},
            "monitoring_window_minutes",
            "The watch window is at most 1,440 minutes (1 day).",
        ),
        ({"branch_age_limit_hours": 0}, "branch_age_limit_hours", "The branch age limit is at least 1 hour."),
        (
            {"branch_age_limit_hours": 9223372036854775808},
            "branch_age_limit_hours",
            "The branch age limit is at most 720 hours (30 days).",
        ),
        ({"monitoring_grace_minutes": -1}, "monitoring_grace_minutes", "The sign-off grace is at least 0 minutes."),
        ({"required_approvals": 50}, "required_approvals", "Required approvals is at most 10 approvals."),
        ({"staging_stuck_minutes": 10**6}, "staging_stuck_minutes", "at most 10,080 minutes (7 days)"),
        ({"tag_stuck_minutes": 0}, "tag_stuck_minutes", "Stuck before the tag is at least 1 minute."),
        ({"production_stuck_minutes": "ten"}, "production_stuck_minutes", "Enter a whole number."),
        ({"staging_environment": "production"}, "staging_environment", "Staging and production are different"),
        (
            {"preview_environment_pattern": "*"},
            "preview_environment_pattern",
            "This pattern matches the production environment (production)",
        ),
        ({"preview_environment_pattern": "stag*"}, "preview_environment_pattern", "the staging environment"),
        ({"tag_pattern": "v[0-9"}, "tag_pattern", "The [ at position 2 is not closed"),
        ({"tag_pattern": "v[9-0]*"}, "tag_pattern", "can never match"),
        ({"tag_pattern": "release *"}, "tag_pattern", "A pattern has no spaces."),
        ({"tag_pattern": ""}, "tag_pattern", "A pattern for release tags"),
        ({"rollback_workflow_file": "../../secrets.yml"}, "rollback_workflow_file", "no folders, no .."),
        ({"rollback_workflow_file": ".github/workflows/a/b.yml"}, "rollback_workflow_file", "no folders"),
        ({"rollback_workflow_file": "rollback..yml"}, "rollback_workflow_file", "no folders, no .."),
        ({"rollback_workflow_file": "rollback.sh"}, "rollback_workflow_file", "ending in .yml or .yaml"),
        ({"rollback_workflow_file": "roll back.yml"}, "rollback_workflow_file", "ending in .yml or .yaml"),
        ({"rollback_workflow_input": "the tag"}, "rollback_workflow_input", "An input name"),
    ],
)
def test_settings_out_of_range_or_inconsistent_are_refused_in_words(
    admin: Client, changes: dict[str, Any], field: str, message: str
) -> None:
    repo = RepositoryFactory()
    before = model_to_dict(repo, fields=RepositorySettingsForm._meta.fields)
    response = admin.post(reverse("repository-settings", args=[repo.pk]), _form_data(repo, **changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field] and len(errors[field]) == 1, errors
    assert message in errors[field][0]
    body = response.content.decode()
    assert "9223372036854775807" not in body and "Ensure this value" not in body
    repo.refresh_from_db()
    assert model_to_dict(repo, fields=RepositorySettingsForm._meta.fields) == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("rollback.yml", "rollback.yml"),
        ("deploy_rollback.yaml", "deploy_rollback.yaml"),
        (".github/workflows/roll-back.v2.yml", "roll-back.v2.yml"),
    ],
)
def test_a_workflow_file_is_stored_as_the_name_github_dispatches(admin: Client, typed: str, stored: str) -> None:
    repo = RepositoryFactory()
    response = admin.post(
        reverse("repository-settings", args=[repo.pk]),
        _form_data(repo, rollback_workflow_file=typed, monitoring_window_minutes=1, branch_age_limit_hours=1),
    )
    assert response.status_code == 302, response.context["form"].errors
    repo.refresh_from_db()
    assert (repo.rollback_workflow_file, repo.monitoring_window_minutes, repo.branch_age_limit_hours) == (stored, 1, 1)


def test_the_settings_page_tells_the_browser_each_number_s_range(admin: Client) -> None:
    repo = RepositoryFactory()
    page = admin.get(reverse("repository-settings", args=[repo.pk])).content.decode()
    assert 'name="monitoring_window_minutes" value="30" min="1" max="1440"' in page


def test_an_admin_requires_a_clickup_task_and_names_the_verified_status(admin: Client) -> None:
    repo = RepositoryFactory()
    page = admin.get(reverse("repository-settings", args=[repo.pk])).content.decode()
    assert "Require a ClickUp task" in page and "ClickUp status once verified" in page
    response = admin.post(
        reverse("repository-settings", args=[repo.pk]),
        _form_data(repo, clickup_task_required="on", clickup_verified_status="  in   production "),
    )
    assert response.status_code == 302
    repo.refresh_from_db()
    assert (repo.clickup_task_required, repo.clickup_verified_status) == (True, "in production")
    summary = AuditEvent.objects.get(verb=AuditEvent.Verb.SETTINGS_CHANGED).summary
    assert "Require a ClickUp task" in summary and "ClickUp status once verified" in summary
