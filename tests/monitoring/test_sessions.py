"""Monitoring sessions: opened per owner of each production release, a checklist enforced on the server,
sign-off with a decision, overdue alerts to the owner then on-call, each once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import AuditEvent, Developer
from delivery.accounts.oncall import override_add
from delivery.flows.watches import watch_signed_off, watches_open, watches_overdue
from delivery.monitoring.models import MonitoringSession
from delivery.monitoring.selectors import watch_dashboard_links
from delivery.monitoring.services import WatchError, watch_item_check
from delivery.pipeline.models import Release
from tests.conftest import member
from tests.rollbacks.helpers import history

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    owner, other = member("olga"), member("pete")
    return {"olga": owner, "pete": other, **history(owner.developer, other.developer)}


def _session(people: dict[str, Any], login: str = "olga") -> MonitoringSession:
    watches_open(repository_id=people["repo"].pk)
    return MonitoringSession.objects.get(release=people["v1.2"], owner__login=login)


def test_a_session_opens_for_each_owner_of_a_new_release_with_the_checklist(people: dict[str, Any]) -> None:
    # v1.2's two owners; v1.0 and v1.1 went live days ago (history from a first sync): no watch opens for them
    assert watches_open(repository_id=people["repo"].pk) == 2
    assert watches_open(repository_id=people["repo"].pk) == 0  # idempotent
    session = MonitoringSession.objects.get(release=people["v1.2"], owner__login="olga")
    assert session.window_ends_at - session.window_starts_at == timedelta(minutes=30)
    assert [i.key for i in session.items.all()] == ["works", "errors", "watched", "resolved", "decision"]
    assert MonitoringSession.objects.filter(release=people["v1.2"]).count() == 2


def test_rollback_releases_open_no_session(people: dict[str, Any]) -> None:
    people["v1.2"].is_rollback = True
    people["v1.2"].save()
    watches_open(repository_id=people["repo"].pk)
    assert not MonitoringSession.objects.filter(release=people["v1.2"]).exists()


def test_the_full_window_item_cannot_be_ticked_before_the_window_ends(people: dict[str, Any]) -> None:
    session = _session(people)
    watched = session.items.get(key="watched")
    with pytest.raises(WatchError, match="when the window ends"):
        watch_item_check(item=watched, user=people["olga"], checked=True, note="")
    watch_item_check(item=watched, user=people["olga"], checked=True, note="all quiet", now=session.window_ends_at)
    watched.refresh_from_db()
    assert watched.checked_at is not None and watched.note == "all quiet"


def test_only_the_owner_ticks_and_signs_off(people: dict[str, Any]) -> None:
    session = _session(people)
    with pytest.raises(PermissionError):
        watch_item_check(item=session.items.get(key="works"), user=people["pete"], checked=True, note="")
    viewer = member("vic", role="viewer")
    with pytest.raises(PermissionError):
        watch_signed_off(session=session, user=viewer, decision="fix_forward", notes="")


def test_keep_needs_the_whole_window_and_every_item(people: dict[str, Any]) -> None:
    session = _session(people)
    with pytest.raises(WatchError, match="window has ended"):
        watch_signed_off(session=session, user=people["olga"], decision="keep", notes="")
    later = session.window_ends_at + timedelta(minutes=1)
    with pytest.raises(WatchError, match="Tick every item first"):
        watch_signed_off(session=session, user=people["olga"], decision="keep", notes="", now=later)
    for item in session.items.exclude(key="decision"):
        watch_item_check(item=item, user=people["olga"], checked=True, note="", now=later)
    done = watch_signed_off(session=session, user=people["olga"], decision="keep", notes="fine", now=later)
    assert done.session.decision == "keep" and done.session.signed_off_by == people["olga"]
    assert session.items.get(key="decision").checked_at is not None
    with pytest.raises(WatchError, match="already signed off"):
        watch_signed_off(session=session, user=people["olga"], decision="fix_forward", notes="", now=later)
    assert not Release.objects.get(pk=people["v1.2"].pk).failed
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.MONITORING_SIGNED_OFF).count() == 1


def test_fix_forward_marks_the_release_failed_at_once(people: dict[str, Any]) -> None:
    session = _session(people)
    watch_signed_off(session=session, user=people["olga"], decision="fix_forward", notes="patch coming")
    release = Release.objects.get(pk=people["v1.2"].pk)
    assert release.failed and "Fix forward" in release.failure_reason and release.failed_at is not None


def test_a_later_release_does_not_close_an_earlier_session(people: dict[str, Any]) -> None:
    from tests.rollbacks.helpers import release

    session = _session(people)
    release(people["repo"], "v1.3", at=timezone.now(), owners=[people["olga"].developer])
    watches_open(repository_id=people["repo"].pk)
    session.refresh_from_db()
    assert session.signed_off_at is None


def test_overdue_alerts_the_owner_then_on_call_each_once(people: dict[str, Any], settings: Any) -> None:
    settings.MONITORING_ESCALATION_MINUTES = 15
    session = _session(people)
    grace = timedelta(minutes=people["repo"].monitoring_grace_minutes)
    MonitoringSession.objects.exclude(pk=session.pk).update(signed_off_at=timezone.now(), decision="keep")
    assert watches_overdue(now=session.window_ends_at + grace - timedelta(seconds=1)) == (0, 0)
    at = session.window_ends_at + grace + timedelta(seconds=1)
    assert watches_overdue(now=at) == (1, 0)
    assert watches_overdue(now=at) == (0, 0)  # once
    ops = member("ops", role="on-call").developer
    override_add(developer=ops, starts_at=at, ends_at=at + timedelta(days=1), actor=None)
    assert watches_overdue(now=at + timedelta(minutes=14)) == (0, 0)
    assert watches_overdue(now=at + timedelta(minutes=15)) == (0, 1)
    assert watches_overdue(now=at + timedelta(minutes=20)) == (0, 0)
    session.refresh_from_db()
    assert session.owner_alerted_at == at and session.on_call_alerted_at is not None


def test_dashboard_links_are_filled_with_the_release_and_window(people: dict[str, Any]) -> None:
    repo = people["repo"]
    repo.logs_url_template = "https://logs.example/?q=sha:{short_sha}&from={start}&to={end}"
    repo.errors_url_template = "https://errors.example/releases/{tag}?since={start_ms}&x={unknown}"
    repo.save()
    session = _session(people)
    links = dict(watch_dashboard_links(session))
    start = session.window_starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert links["Logs"].startswith(f"https://logs.example/?q=sha:{people['v1.2'].sha[:7]}&from={start}&to=")
    assert links["Errors"] == (
        f"https://errors.example/releases/v1.2?since={int(session.window_starts_at.timestamp() * 1000)}&x={{unknown}}"
    )
    assert "Metrics" not in links


def test_the_session_page_ticks_items_and_signs_off_over_http(people: dict[str, Any]) -> None:
    session = _session(people)
    client = Client()
    client.force_login(people["olga"])
    page = client.get(reverse("watch", args=[session.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "Verify the change works in production" in body and "left" in body
    watched = session.items.get(key="watched")
    early = client.post(reverse("watch-item", args=[watched.pk]), {"checked": "on"}, headers={"HX-Request": "true"})
    assert early.status_code == 400 and "when the window ends" in early.content.decode()
    works = session.items.get(key="works")
    assert client.post(reverse("watch-item", args=[works.pk]), {"checked": "on", "note": "ok"}).status_code == 302
    assert session.items.get(key="works").checked_at is not None
    other = Client()
    other.force_login(people["pete"])
    assert other.post(reverse("watch-item", args=[works.pk]), {"checked": ""}).status_code == 403
    assert session.items.get(key="works").checked_at is not None  # untouched
    roll = client.post(reverse("watch-sign-off", args=[session.pk]), {"decision": "roll_back", "notes": "500s"})
    assert roll["Location"] == reverse("rollback-new", args=[people["v1.2"].pk])
    session.refresh_from_db()
    assert session.decision == "roll_back"


def test_developers_unknown_to_the_release_get_no_session(people: dict[str, Any]) -> None:
    assert not MonitoringSession.objects.filter(owner__in=Developer.objects.filter(login="vic")).exists()


def test_a_failed_production_deploy_is_noticed_once(people: dict[str, Any]) -> None:
    from delivery.flows.notices import deploy_failures
    from delivery.notifications.models import Notification
    from tests.factories import DeploymentFactory

    DeploymentFactory(repository=people["repo"], ref="v1.3", state="failure", state_at=timezone.now())
    DeploymentFactory(
        repository=people["repo"], ref="v0.1", state="failure", state_at=timezone.now() - timedelta(hours=3)
    )
    assert deploy_failures(repository=people["repo"]) == 1
    assert deploy_failures(repository=people["repo"]) == 0
    notice = Notification.objects.get(kind="deploy_failed")
    assert "v1.3" in notice.text and "ended in failure" in notice.text


def test_deciding_roll_back_fails_the_release_even_if_no_rollback_follows(people: dict[str, Any]) -> None:
    session = _session(people)
    watch_signed_off(session=session, user=people["olga"], decision="roll_back", notes="")
    assert Release.objects.get(pk=people["v1.2"].pk).failed


def test_a_note_is_kept_when_the_early_tick_is_refused(people: dict[str, Any]) -> None:
    session = _session(people)
    watched = session.items.get(key="watched")
    with pytest.raises(WatchError):
        watch_item_check(item=watched, user=people["olga"], checked=True, note="latency p99 up 10%")
    watched.refresh_from_db()
    assert watched.note == "latency p99 up 10%" and watched.checked_at is None


def test_a_signed_off_watch_leaves_the_queue(people: dict[str, Any]) -> None:
    from delivery.web.queues import queue_of

    session = _session(people)
    olga = people["olga"].developer
    about_v12 = {reverse("watch", args=[session.pk]), reverse("release", args=[people["v1.2"].pk])}
    before = [i.url for i in queue_of(olga, now=timezone.now()).items]
    assert before.count(reverse("watch", args=[session.pk])) == 1
    watch_signed_off(session=session, user=people["olga"], decision="fix_forward", notes="")
    assert not about_v12 & {i.url for i in queue_of(olga, now=timezone.now()).items}
