"""Delivery confirmed on the task (issue 18): a comment on each ClickUp task when its change reaches production, another
when the watch is signed off "keep" (and the move to the repository's verified status), and one with the reason when a
rollback takes it out; each once, retried while ClickUp is down, never in the way of the flow that tells it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.flows.rollbacks import rollback_requested
from delivery.flows.task_links import task_links_written
from delivery.flows.watches import watch_signed_off, watches_kept_unattended, watches_open
from delivery.monitoring.models import ChecklistItem, MonitoringSession
from delivery.notifications.models import Notification
from delivery.notifications.service import notification_send
from delivery.pipeline.models import Change, Release, TaskLink
from tests.conftest import member
from tests.rollbacks.helpers import history
from tests.rollbacks.test_moving_production import _rollback_goes_live
from tools.clickup_server import ClickUpServer

pytestmark = pytest.mark.django_db
Outcome = Notification.Outcome


@pytest.fixture
def team(settings: Any) -> dict[str, Any]:
    """history()'s v1.2 is live: olga's change names PRJ-2 and CU-86b0x1y2z, pete's names PRJ-2 too."""
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example"
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    olga, pete = member("olga"), member("pete")
    made = {"olga": olga, "pete": pete, **history(olga.developer, pete.developer)}
    for change in Change.objects.filter(releases=made["v1.2"]):
        named = "PRJ-2 CU-86b0x1y2z" if change.author == olga.developer else "PRJ-2"
        change.pull_request.title = f"{named} {change.title}"
        change.pull_request.save()
    task_links_written(repository_id=made["repo"].pk, pull_request_ids=None)
    return made


def _task_notices(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("target"))


def _send_all() -> list[str]:
    return [notification_send(notification_id=n.pk).outcome for n in Notification.objects.filter(transport="clickup")]


def test_a_release_comments_once_on_each_task_its_changes_name(clickup: ClickUpServer, team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    watches_open(repository_id=team["repo"].pk)  # again: nothing more

    told = _task_notices("task_released")
    assert [(n.target, n.outcome, n.repository_id) for n in told] == [
        ("CU-86b0x1y2z", Outcome.PENDING, team["repo"].pk),
        ("PRJ-2", Outcome.PENDING, team["repo"].pk),
    ]
    release = team["v1.2"]
    text = told[1].text
    assert text.startswith(f"Released to production: acme/api v1.2, {timezone.localtime(release.deployed_at):%a %d}")
    assert "v1.2 change 0 by olga (olga); acme/api#" in text and "(pete)" in text  # both changes naming PRJ-2
    assert f"Release: https://trunkline.example/releases/{release.pk}/" in text
    olga_watch, pete_watch = (MonitoringSession.objects.get(owner__login=login) for login in ("olga", "pete"))
    assert f"Watch (olga): https://trunkline.example/monitoring/{olga_watch.pk}/" in text
    assert f"Watch (pete): https://trunkline.example/monitoring/{pete_watch.pk}/" in text
    assert f"/monitoring/{pete_watch.pk}/" not in told[0].text  # CU-86b0x1y2z is olga's change's only

    assert _send_all() == [Outcome.SENT, Outcome.SENT]
    assert [task for task, _ in clickup.comments] == ["86b0x1y2z", "86b0x1y30"]  # PRJ-2 found in the workspace
    assert clickup.comments[1][1] == text


def test_keep_comments_verified_on_the_owner_s_tasks_and_moves_them(clickup: ClickUpServer, team: Any) -> None:
    team["repo"].clickup_verified_status = "complete"
    team["repo"].save()
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    ChecklistItem.objects.filter(session=session).update(checked_at=timezone.now())
    after_window = session.window_ends_at + timedelta(minutes=1)

    watch_signed_off(session=session, user=team["olga"], decision="keep", notes="All good", now=after_window)

    verified = _task_notices("task_verified")
    assert [n.target for n in verified] == ["CU-86b0x1y2z", "PRJ-2"]  # olga's change's tasks
    assert verified[1].text.startswith("Verified in production: acme/api v1.2 was watched for its 30-minute window")
    assert "kept by olga" in verified[1].text and "Notes: All good" in verified[1].text
    assert "pete" not in verified[1].text.split("Notes")[0]  # pete's change is his own watch's to verify
    moves = _task_notices("task_status")
    assert [(n.target, n.payload["status"]) for n in moves] == [("CU-86b0x1y2z", "complete"), ("PRJ-2", "complete")]
    Notification.objects.filter(kind="task_released").delete()
    assert set(_send_all()) == {Outcome.SENT}
    assert clickup.task("86b0x1y30").status == "complete" and clickup.task("86b0x1y2z").status == "complete"
    assert len(clickup.comments) == 2  # the two verified comments; the moves are not comments


def test_fix_forward_verifies_nothing(clickup: ClickUpServer, team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    watch_signed_off(session=session, user=team["olga"], decision="fix_forward", notes="totals wrong")
    assert not Notification.objects.filter(kind__in=["task_verified", "task_status"]).exists()


def test_the_simulated_team_s_keep_verifies_its_tasks_too(clickup: ClickUpServer, team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="pete")
    type(team["pete"]).objects.filter(pk=team["pete"].pk).delete()  # no account: the demo's simulated developers
    MonitoringSession.objects.filter(pk=session.pk).update(window_ends_at=timezone.now() - timedelta(minutes=1))
    watches_kept_unattended(session_ids=[session.pk], notes="Signed off by the simulated team", now=timezone.now())
    assert [n.target for n in _task_notices("task_verified")] == ["PRJ-2"]


def test_a_rollback_comments_its_reason_on_the_tasks_of_what_it_undid(
    clickup: ClickUpServer, team: dict[str, Any]
) -> None:
    watches_open(repository_id=team["repo"].pk)
    ona = member("ona", role="on-call")
    rollback = rollback_requested(
        release=team["v1.2"],
        target=team["v1.0"],
        user=ona,
        reason="checkout answers 500",
        idempotency_key="k",
        shown_live_id=team["v1.2"].pk,
    ).rollback
    assert not _task_notices("task_rolled_back")  # asked for, not done yet
    _rollback_goes_live(team, rollback)
    told = _task_notices("task_rolled_back")
    assert [n.target for n in told] == ["CU-86b0x1y2z", "PRJ-2"]
    assert told[1].text.startswith("Rolled back: acme/api v1.2 was taken out of production by ona")
    assert "(back to v1.0)" in told[1].text and "Reason: checkout answers 500" in told[1].text
    assert f"Rollback: https://trunkline.example/rollbacks/{rollback.pk}/" in told[1].text


def test_a_clickup_outage_blocks_nothing_and_the_notice_waits(clickup: ClickUpServer, team: dict[str, Any]) -> None:
    clickup.fail_next(10, status=503)
    assert watches_open(repository_id=team["repo"].pk) == 2  # the watches open; ClickUp is not asked here
    notice = _task_notices("task_released")[1]
    result = notification_send(notification_id=notice.pk)
    notice.refresh_from_db()
    assert (result.outcome, notice.outcome, notice.attempts) == (Outcome.FAILED, Outcome.FAILED, 1)
    assert "ClickUp answered 503" in notice.error and notice.next_attempt_at > timezone.now()


def test_a_rate_limit_waits_for_its_reset_and_a_deleted_task_is_not_retried(
    clickup: ClickUpServer, team: dict[str, Any]
) -> None:
    watches_open(repository_id=team["repo"].pk)
    by_id, by_custom = _task_notices("task_released")
    clickup.rate_limit_next(1, reset_in=40)
    limited = notification_send(notification_id=by_custom.pk)
    assert limited.outcome == Outcome.FAILED and limited.retry_in is not None and 38 <= limited.retry_in <= 42
    clickup.remove_task("86b0x1y2z")
    gone = notification_send(notification_id=by_id.pk)
    by_id.refresh_from_db()
    assert gone.outcome == Outcome.PERMANENT_FAILURE and "not in ClickUp" in by_id.error


def test_a_release_learned_of_after_its_window_is_history_not_news(clickup: ClickUpServer, team: Any) -> None:
    Release.objects.filter(pk=team["v1.2"].pk).update(deployed_at=timezone.now() - timedelta(minutes=50))
    team["repo"].monitoring_grace_minutes = 60  # still given a watch, but its window is over
    team["repo"].save()
    watches_open(repository_id=team["repo"].pk)
    assert {n.outcome for n in _task_notices("task_released")} == {Outcome.HISTORY}


def test_a_deleted_task_gets_no_comment(clickup: ClickUpServer, team: dict[str, Any]) -> None:
    TaskLink.objects.filter(clickup_task_id="86b0x1y2z").update(fetch_state=TaskLink.Fetch.NOT_FOUND)
    watches_open(repository_id=team["repo"].pk)
    assert [n.target for n in _task_notices("task_released")] == ["PRJ-2"]


def test_without_clickup_settings_the_flows_tell_no_task(clickup_server: ClickUpServer, team: dict[str, Any]) -> None:
    assert watches_open(repository_id=team["repo"].pk) == 2
    assert not Notification.objects.filter(transport="clickup").exists()
    assert clickup_server.requests == []


def test_the_on_call_page_shows_the_notices_on_tasks_in_the_log(clickup: ClickUpServer, team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    browser = Client()
    browser.force_login(team["olga"])
    page = browser.get(reverse("on-call")).content.decode()
    assert "what went to Slack and to ClickUp tasks" in page
    assert '<span class="badge badge-muted">ClickUp PRJ-2</span> Released to production: acme/api v1.2' in page
