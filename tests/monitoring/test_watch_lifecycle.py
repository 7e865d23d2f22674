"""The watch's lifecycle (issue 12): one watch covers an owner's burst of releases; its sign-off applies to what it
covers; a rollback ends the watches of what it undoes; a change is done only when its watch is; notices carry their
event's time, and history read late is not sent; refusals and notes answered in words at the page's own address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.flows.watches import watch_signed_off, watches_open
from delivery.monitoring.models import MonitoringSession
from delivery.monitoring.services import WatchError, watch_item_check
from delivery.notifications.models import Notification
from delivery.notifications.selectors import notification_list
from delivery.pipeline.models import Release
from tests.conftest import member
from tests.rollbacks.helpers import history, release

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    return {"olga": olga, "pete": pete, **history(olga.developer, pete.developer)}


def _ship(team: dict[str, Any], tag: str, minutes_ago: float, *owners: str) -> Release:
    people = [team[login].developer for login in owners]
    return release(team["repo"], tag, at=team["now"] - timedelta(minutes=minutes_ago), owners=people)


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_owners_burst_of_releases_is_one_watch_to_the_last_deploy_plus_the_window(team: dict[str, Any]) -> None:
    # v1.2 (olga and pete) went live 10 minutes ago; olga ships v1.3 and v1.4 within the window, pete v1.5
    v13 = _ship(team, "v1.3", 6, "olga")
    v14 = _ship(team, "v1.4", 2, "olga")
    v15 = _ship(team, "v1.5", 1, "pete")
    watches_open(repository_id=team["repo"].pk)
    olga = MonitoringSession.objects.get(owner__login="olga")  # one, not three
    assert {r.tag_name for r in olga.releases.all()} == {"v1.2", "v1.3", "v1.4"}
    assert olga.release == v14  # the newest: its links and rollback point there
    assert olga.window_starts_at == team["v1.2"].deployed_at
    assert olga.window_ends_at == v14.deployed_at + timedelta(minutes=30)
    pete = MonitoringSession.objects.get(owner__login="pete")
    assert {r.tag_name for r in pete.releases.all()} == {"v1.2", "v1.5"}
    assert pete.window_ends_at == v15.deployed_at + timedelta(minutes=30)
    assert watches_open(repository_id=team["repo"].pk) == 0  # idempotent
    assert MonitoringSession.objects.count() == 2
    assert set(Release.objects.filter(pk__in=[v13.pk, v14.pk, v15.pk]).values_list("watch_state", flat=True)) == {
        "open"
    }


def test_a_release_after_the_window_opens_a_new_watch(team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk, now=team["now"] - timedelta(minutes=5))
    _ship(team, "v1.3", -25, "olga")  # 25 minutes from now: v1.2's window (ending in 20) is over by then
    watches_open(repository_id=team["repo"].pk, now=team["now"] + timedelta(minutes=26))
    assert MonitoringSession.objects.filter(owner__login="olga").count() == 2


def test_a_watch_takes_in_releases_for_two_windows_then_a_release_opens_a_new_one(team: dict[str, Any]) -> None:
    """An owner shipping every few minutes kept one watch open for ever (each release extended it), so nothing of
    theirs reached Done: a watch takes in releases for two windows from its first, then the next opens a watch."""
    repo, rita = team["repo"], member("rita").developer
    first = release(repo, "v2.0", at=team["now"], owners=[rita])
    tags = []
    for i, minutes in enumerate(range(10, 90, 10)):  # every 10 minutes, each within the last one's window
        tags.append(release(repo, f"v2.{i + 1}", at=team["now"] + timedelta(minutes=minutes), owners=[rita]))
    watches_open(repository_id=repo.pk, now=team["now"] + timedelta(minutes=81))
    watches = list(
        MonitoringSession.objects.filter(owner__login="rita", release__tag_name__startswith="v2.").order_by(
            "window_starts_at"
        )
    )
    covered = [sorted(r.tag_name for r in w.releases.all()) for w in watches]
    # v2.0 opens a watch that takes in v2.1 … v2.5 (under 60 minutes after v2.0); v2.6 (60 min) opens the next
    assert covered == [["v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5"], ["v2.6", "v2.7", "v2.8"]]
    assert watches[0].window_starts_at == first.deployed_at
    assert watches[0].window_ends_at == first.deployed_at + timedelta(minutes=50 + 30)
    assert watches[1].window_starts_at == tags[5].deployed_at


def test_fix_forward_fails_the_covered_releases_it_is_about_and_the_page_says_which(team: dict[str, Any]) -> None:
    v13 = _ship(team, "v1.3", 5, "olga")
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    client = _as(team["olga"])
    page = client.get(reverse("watch", args=[session.pk])).content.decode()
    assert "Releases it covers" in page and f'name="releases" value="{v13.pk}"' in page
    answer = client.post(
        reverse("watch", args=[session.pk]),
        {"decision": "fix_forward", "notes": "v1.3 broke search", "releases_shown": "1", "releases": [v13.pk]},
    )
    assert answer.status_code == 302
    assert Release.objects.get(pk=v13.pk).failed and not Release.objects.get(pk=team["v1.2"].pk).failed
    page = client.get(reverse("watch", args=[session.pk])).content.decode()
    assert page.count('<span class="badge badge-bad">failed</span>') == 1 and "Fix forward (olga)" in page


def test_a_decision_about_no_release_is_refused(team: dict[str, Any]) -> None:
    _ship(team, "v1.3", 5, "olga")
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    with pytest.raises(WatchError, match="Choose the releases"):
        watch_signed_off(session=session, user=team["olga"], decision="roll_back", notes="", release_ids=[])
    assert not Release.objects.filter(failed=True, tag_name__in=["v1.2", "v1.3"]).exists()


def test_a_rollback_ends_the_watches_of_what_it_undid_when_it_succeeds(team: dict[str, Any]) -> None:
    from delivery.flows.rollbacks import rollback_requested
    from tests.rollbacks.test_moving_production import _rollback_goes_live

    watches_open(repository_id=team["repo"].pk)
    ona = member("ona", role="on-call")
    rollback = rollback_requested(
        release=team["v1.2"],
        target=team["v1.0"],
        user=ona,
        reason="checkout 500s",
        idempotency_key="k",
        shown_live_id=team["v1.2"].pk,
    ).rollback
    assert not MonitoringSession.objects.filter(signed_off_at__isnull=False).exists()  # in flight: still watched
    _rollback_goes_live(team, rollback)
    for session in MonitoringSession.objects.all():
        assert (session.decision, session.signed_off_by, session.notes) == (
            "rolled_back",
            ona,
            "Rolled back: checkout 500s",
        )
    assert Release.objects.get(pk=team["v1.2"].pk).watch_state == "done"
    page = _as(team["olga"]).get(reverse("release", args=[team["v1.2"].pk])).content.decode()
    assert "Rolled back" in page and 'class="countdown"' not in page
    watch_page = _as(team["olga"]).get(reverse("watch", args=[MonitoringSession.objects.get(owner__login="olga").pk]))
    assert "Ended by a rollback" in watch_page.content.decode() and "ona" in watch_page.content.decode()
    # What a rollback took out of production is not offered for rolling back again, nor said to be live.
    assert "Roll back…" not in watch_page.content.decode() and "since rolled back" in watch_page.content.decode()


def test_a_failed_rollback_leaves_the_watches_of_what_stays_live_open(team: dict[str, Any]) -> None:
    from delivery.flows.rollbacks import rollback_requested, rollbacks_followed
    from delivery.rollbacks.models import Rollback
    from delivery.rollbacks.selectors import live_release, rollback_targets

    watches_open(repository_id=team["repo"].pk)
    v13 = _ship(team, "v1.3", 1, "pete")
    watches_open(repository_id=team["repo"].pk)
    started = rollback_requested(
        release=v13,
        target=team["v1.0"],
        user=member("ona", role="on-call"),
        reason="500s",
        idempotency_key="k",
        shown_live_id=v13.pk,
    ).rollback
    Rollback.objects.filter(pk=started.pk).update(state="dispatched", dispatched_at=team["now"] - timedelta(hours=1))
    rollbacks_followed(repository_id=team["repo"].pk, now=team["now"])  # GitHub never deployed it: failed
    assert Rollback.objects.get().state == "failed" and live_release(team["repo"]) == v13
    assert not MonitoringSession.objects.filter(signed_off_at__isnull=False).exists()
    assert Release.objects.get(pk=v13.pk).watch_state == "open"
    assert "v1.2" in [t.tag_name for t in rollback_targets(v13)]  # never taken out: still a version to go back to


def test_a_watch_with_a_release_still_live_is_not_ended_by_a_rollback_of_a_later_one(team: dict[str, Any]) -> None:
    from delivery.monitoring.services import watches_end_by_rollback

    v13 = _ship(team, "v1.3", 5, "olga")
    watches_open(repository_id=team["repo"].pk)
    assert watches_end_by_rollback(release_ids=[v13.pk], user=None, reason="x", now=timezone.now()) == []
    assert not MonitoringSession.objects.filter(signed_off_at__isnull=False).exists()


# -- the board: done only when watched -----------------------------------------------------------------------------
def test_a_change_stays_in_production_until_its_watch_is_signed_off(team: dict[str, Any]) -> None:
    from tests.pipeline.test_derive import History

    h = History()
    ana = member("ana").developer
    pr = h.merge(ana, opened=0, merged=10)
    h.deploy("production", 1, 20)
    h.derive(now=21)  # a release, its change in production
    (made,) = Release.objects.filter(repository=h.repo)
    from tests.pipeline.test_derive import at, change

    watches_open(repository_id=h.repo.pk, now=at(21))
    session = MonitoringSession.objects.get(owner=ana)
    h.derive(now=200)  # the window ended long ago, but nobody signed off
    assert change(pr).stage == "in_production" and "Sign off the watch" in change(pr).next_action
    watch_signed_off(session=session, user=ana.user, decision="fix_forward", notes="", now=at(30))
    made.refresh_from_db()
    assert made.watch_state == "done"
    h.derive(now=200)
    assert change(pr).stage == "done" and change(pr).signed_off_at == made.watch_ended_at


def test_history_from_a_first_sync_is_done_without_a_watch() -> None:
    from tests.pipeline.test_derive import History, change

    h = History()
    pr = h.merge(member("ana").developer, opened=0, merged=10)
    h.deploy("production", 1, 20)
    h.derive(now=20 + 30 + 15 + 61)  # older than window, grace and the opening margin: history
    assert change(pr).stage == "done"


# -- notices -------------------------------------------------------------------------------------------------------
def test_a_deploy_read_after_its_watch_window_is_history_not_news(team: dict[str, Any]) -> None:
    old = _ship(team, "v1.3", 35, "olga")
    Release.objects.filter(pk=team["v1.2"].pk).update(deployed_at=team["now"] - timedelta(minutes=2))
    watches_open(repository_id=team["repo"].pk)
    late = Notification.objects.get(dedupe_key=f"deploy_succeeded:pipeline.release:{old.pk}")
    assert late.outcome == "history" and late.event_at == old.deployed_at and late.next_attempt_at is None
    fresh = Notification.objects.get(dedupe_key=f"deploy_succeeded:pipeline.release:{team['v1.2'].pk}")
    assert fresh.outcome == "logged"
    assert list(notification_list()) == [fresh]
    page = _as(team["olga"]).get(reverse("on-call")).content.decode()
    assert f'datetime="{fresh.event_at.isoformat()}' in page or fresh.event_at.strftime("%Y-%m-%dT%H:%M") in page


# -- the page: refusals at its own address, notes -------------------------------------------------------------------
def test_a_refused_sign_off_stays_at_the_watch_address_and_a_reload_lands_on_the_watch(team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    client = _as(team["olga"])
    page = client.get(reverse("watch", args=[session.pk])).content.decode()
    assert f'action="{reverse("watch", args=[session.pk])}"' in page
    refused = client.post(reverse("watch", args=[session.pk]), {"decision": "keep", "notes": "typed"})
    assert refused.status_code == 400 and "window has ended" in refused.content.decode()
    assert ">typed</textarea>" in refused.content.decode()
    old_address = client.get(reverse("watch-sign-off", args=[session.pk]))
    assert old_address.status_code == 302 and old_address["Location"] == reverse("watch", args=[session.pk])
    item = session.items.first()
    assert client.get(reverse("watch-item", args=[item.pk])).status_code == 302


def test_overlong_notes_are_refused_in_words_and_a_saved_note_says_so(team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    client = _as(team["olga"])
    long = client.post(reverse("watch", args=[session.pk]), {"decision": "fix_forward", "notes": "n" * 4001})
    assert long.status_code == 400 and "keep them under 4,000" in long.content.decode()
    assert MonitoringSession.objects.get(pk=session.pk).signed_off_at is None
    item = session.items.get(key="works")
    with pytest.raises(WatchError, match="keep it under 2,000"):
        watch_item_check(item=item, user=team["olga"], checked=True, note="x" * 2001)
    saved = client.post(
        reverse("watch-item", args=[item.pk]), {"checked": "on", "note": "fine"}, headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    plain = client.post(reverse("watch-item", args=[item.pk]), {"checked": "on", "note": "fine again"}, follow=True)
    assert "Saved “" in plain.content.decode()


def test_a_deploy_whose_watch_window_runs_is_news_even_when_read_late(team: dict[str, Any]) -> None:
    v13 = _ship(team, "v1.3", 16, "olga")  # a missed webhook, read by the sync 16 minutes later
    watches_open(repository_id=team["repo"].pk)
    notice = Notification.objects.get(dedupe_key=f"deploy_succeeded:pipeline.release:{v13.pk}")
    assert notice.outcome == "logged" and notice.event_at == v13.deployed_at
    assert "since" in notice.text


def test_keep_is_refused_when_a_release_joined_after_the_page_was_read(team: dict[str, Any]) -> None:
    Release.objects.filter(pk=team["v1.2"].pk).update(deployed_at=team["now"] - timedelta(minutes=40))
    watches_open(repository_id=team["repo"].pk, now=team["now"] - timedelta(minutes=12))
    stale = MonitoringSession.objects.get(owner__login="olga")  # the request read it: window over
    stale.items.exclude(key="decision").update(checked_at=team["now"])
    v13 = _ship(team, "v1.3", 0, "olga")
    Release.objects.filter(pk=v13.pk).update(deployed_at=stale.window_ends_at - timedelta(minutes=1))
    watches_open(repository_id=team["repo"].pk)
    assert v13 in MonitoringSession.objects.get(owner__login="olga").releases.all()
    with pytest.raises(WatchError, match="joined this watch meanwhile"):
        watch_signed_off(session=stale, user=team["olga"], decision="keep", notes="", now=team["now"])
    assert Release.objects.get(pk=v13.pk).watch_state == "open"


def test_a_sign_off_landing_while_a_release_joins_leaves_no_release_watched_for_ever(
    team: dict[str, Any], monkeypatch: Any
) -> None:
    from delivery.monitoring import services as monitoring

    watches_open(repository_id=team["repo"].pk)
    v13 = _ship(team, "v1.3", 2, "olga")
    cover = monitoring._release_cover

    def cover_then_the_owner_signs_off(release: Release, owner: Any, on_covered: Any) -> MonitoringSession:
        made = cover(release, owner, on_covered)
        if owner.login == "olga":  # another request: olga signs off "fix forward" meanwhile
            session = MonitoringSession.objects.get(pk=made.pk)
            watch_signed_off(session=session, user=team["olga"], decision="fix_forward", notes="", now=timezone.now())
        return made

    monkeypatch.setattr(monitoring, "_release_cover", cover_then_the_owner_signs_off)
    watches_open(repository_id=team["repo"].pk)
    assert not MonitoringSession.objects.filter(releases=v13, signed_off_at__isnull=True).exists()
    assert Release.objects.get(pk=v13.pk).watch_state == "done"


def test_the_on_call_page_and_the_confirmation_agree_on_the_last_known_good(team: dict[str, Any]) -> None:
    from delivery.flows.rollbacks import rollback_requested
    from delivery.rollbacks.models import Rollback
    from delivery.rollbacks.selectors import last_known_good, on_call_board
    from tests.factories import DeploymentFactory

    # v1.2 was rolled back to v1.0, then v1.2's version shipped again, then v1.3
    rollback = rollback_requested(
        release=team["v1.2"],
        target=team["v1.0"],
        user=member("ona", role="on-call"),
        reason="x",
        idempotency_key="k",
        shown_live_id=team["v1.2"].pk,
    ).rollback
    Rollback.objects.filter(pk=rollback.pk).update(state="succeeded")
    at = team["now"] - timedelta(minutes=5)
    deployment = DeploymentFactory(repository=team["repo"], sha=team["v1.2"].sha, ref="v1.2", created_at=at)
    Release.objects.create(
        repository=team["repo"],
        deployment=deployment,
        environment="production",
        sha=team["v1.2"].sha,
        tag_name="v1.2",
        state="succeeded",
        deployed_at=at,
    )
    v13 = _ship(team, "v1.3", 1, "pete")
    row = next(r for r in on_call_board(now=timezone.now()) if r.repository == team["repo"])
    assert row.live == v13
    assert row.known_good == last_known_good(v13) and row.known_good.tag_name == "v1.0"
