"""The words of each notice the flows send, from the domain's objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from delivery.flows import notices
from delivery.monitoring.models import MonitoringSession
from delivery.notifications.service import DEPLOY_SUCCEEDED, ROLLBACK_STARTED, notify
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from tests.factories import DeploymentFactory, DeveloperFactory, RepositoryFactory
from tools.slack_server import SlackServer

pytestmark = pytest.mark.django_db
DEPLOYED = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


def _release(tag: str = "v1.4.2", **fields: Any) -> Release:
    repository = fields.pop("repository", None) or RepositoryFactory(owner="acme", name="api", full_name="acme/api")
    deployment = DeploymentFactory(repository=repository)
    return Release.objects.create(
        repository=repository,
        deployment=deployment,
        environment="production",
        sha=deployment.sha,
        tag_name=tag,
        deployed_at=DEPLOYED,
        **fields,
    )


def test_deploy_succeeded_names_the_owners_and_links_the_monitoring_session(slack_api: SlackServer) -> None:
    release = _release()
    ada = DeveloperFactory(login="ada", slack_member_id="U0ADA")
    bob = DeveloperFactory(login="bob")
    text = notices.deploy_succeeded_text(release, [ada, bob], "https://trunkline.example/monitoring/5/")
    assert text == (
        ":rocket: *acme/api v1.4.2* is in production (production) since 14:05 UTC. Owners: <@U0ADA>, bob — watch it "
        "for 30 minutes and sign off. <https://trunkline.example/monitoring/5/|The release and its watches>"
    )
    key = notices.dedupe_key(DEPLOY_SUCCEEDED, release)
    assert key == f"deploy_succeeded:pipeline.release:{release.pk}"
    notification = notify(DEPLOY_SUCCEEDED, dedupe_key=key, text=text, repository=release.repository, mention=[ada])
    assert notification is not None and notification.text == text  # ada is mentioned once, by the text


def test_a_failed_deploy_names_what_failed_and_who_started_it() -> None:
    repository = RepositoryFactory(owner="acme", name="api", full_name="acme/api")
    starter = DeveloperFactory(login="ada<b>")
    deployment = DeploymentFactory(repository=repository, ref="v1.4.3 <rc>", state="failure", creator=starter)
    assert notices.deploy_failed_deployment_text(repository, deployment) == (
        ":x: Production deploy of *acme/api v1.4.3 &lt;rc&gt;* ended in failure (started by ada&lt;b&gt;). "
        "On call: check it, and roll back if production is hurt."
    )


def test_monitoring_overdue_texts_mention_the_owner_or_the_on_call_person() -> None:
    owner = DeveloperFactory(login="ada", slack_member_id="U0ADA")
    on_call = DeveloperFactory(login="oscar", slack_member_id="U0OSC")
    session = MonitoringSession.objects.create(
        release=_release(), owner=owner, window_starts_at=DEPLOYED, window_ends_at=DEPLOYED + timedelta(minutes=30)
    )
    assert notices.watch_overdue_owner_text(session, "https://t.example/m/1") == (
        ":hourglass: <@U0ADA>, the watch of *acme/api v1.4.2* is overdue: its window ended at 14:35 UTC and "
        "it is not signed off. <https://t.example/m/1|Sign it off>"
    )
    assert notices.watch_overdue_on_call_text(session, on_call, None) == (
        ":rotating_light: <@U0OSC>: the watch of *acme/api v1.4.2* by ada is still not signed off (window "
        "ended 14:35 UTC). Please check the release."
    )


def test_rollback_texts_escape_what_people_typed() -> None:
    release = _release()
    earlier = _release(tag="v1.4.1", repository=release.repository)
    user = get_user_model().objects.create_user("ada")
    rollback = Rollback.objects.create(
        repository=release.repository,
        environment="production",
        from_release=release,
        target_release=earlier,
        target_tag="v1.4.1",
        target_sha=earlier.sha,
        requested_by=user,
        reason="errors <5xx> & timeouts",
        method="workflow_dispatch",
        idempotency_key="rb-1",
        error="workflow not found",
    )
    assert notices.rollback_started_text(rollback, "https://t.example/rb/1") == (
        ":rewind: Rollback started: *acme/api* back to v1.4.1 (by ada: errors &lt;5xx&gt; &amp; timeouts). "
        "<https://t.example/rb/1|Rollback>"
    )
    assert notices.rollback_succeeded_text(rollback).startswith(":white_check_mark: Rollback succeeded: ")
    assert notices.rollback_failed_text(rollback).endswith("Error: workflow not found")
    assert notices.dedupe_key(ROLLBACK_STARTED, rollback, "2026-03-02") == (
        f"rollback_started:rollbacks.rollback:{rollback.pk}:2026-03-02"
    )
