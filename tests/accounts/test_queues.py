"""Ownership queues: mine, anyone's, the team's; urgency order; live partial; constant queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.github.models import ReviewRequest
from delivery.monitoring.models import MonitoringSession, WatchedRelease, WatchVerdict
from delivery.pipeline.models import Change, Release, Stage
from delivery.web.queues import (
    BLOCKED,
    FEEDBACK,
    ON_ITS_WAY,
    OVERDUE_WATCH,
    OWN_WORK,
    REVIEW,
    STALE,
    WATCH,
    queue_of,
)
from tests.conftest import SIGNED_IN_PAGE_QUERIES, member
from tests.factories import DeploymentFactory, DeveloperFactory, PullRequestFactory, RepositoryFactory

pytestmark = pytest.mark.django_db


def _change(repository: Any, author: Any, stage: str, title: str, **extra: Any) -> Change:
    pr = PullRequestFactory(
        repository=repository,
        author=author,
        title=title,
        state="open" if stage in (Stage.IN_PROGRESS, Stage.IN_REVIEW) else "closed",
    )
    return Change.objects.create(
        repository=repository, pull_request=pr, title=title, author=author, stage=stage, **extra
    )


def _session(repository: Any, owner: Developer, *, started_minutes_ago: int) -> MonitoringSession:
    start = timezone.now() - timedelta(minutes=started_minutes_ago)
    release = Release.objects.create(
        repository=repository,
        deployment=DeploymentFactory(repository=repository),
        environment="production",
        sha="a" * 40,
        tag_name=f"v1.{started_minutes_ago}",
        state=Release.State.SUCCEEDED,
        deployed_at=start,
    )
    return MonitoringSession.objects.create(
        release=release, owner=owner, window_starts_at=start, window_ends_at=start + timedelta(minutes=30)
    )


@pytest.fixture
def history(client: Any) -> dict[str, Any]:
    """Tess (the signed-in `client`) owns one of everything; Ana and Ben are teammates."""
    tess = Developer.objects.get(login="tess")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    api = RepositoryFactory(name="api", full_name="acme/api", branch_age_limit_hours=48)
    now = timezone.now()
    _change(
        api,
        tess,
        Stage.IN_PROGRESS,
        "Tess drafts",
        first_commit_at=now - timedelta(hours=3),
        next_action="Finish and mark ready for review",
    )
    _change(api, tess, Stage.IN_REVIEW, "Tess is old", first_commit_at=now - timedelta(days=3), failed_checks=["stale"])
    _change(
        api,
        tess,
        Stage.IN_REVIEW,
        "Tess got feedback",
        first_commit_at=now - timedelta(hours=5),
        first_review_at=now - timedelta(hours=1),
        preview_url="https://preview.example/tess",
    )
    _change(
        api,
        tess,
        Stage.ON_STAGING,
        "Tess on staging",
        staging_at=now - timedelta(minutes=20),
        next_action="Check staging; tag the release",
    )
    _change(
        api,
        tess,
        Stage.TAGGED,
        "Tess stuck",
        tagged_at=now - timedelta(hours=3),
        failed_checks=["stuck_production"],
        next_action="Deploy the tag to production",
    )
    asks = _change(api, ana, Stage.IN_REVIEW, "Ana asks Tess", pr_opened_at=now - timedelta(hours=2))
    ReviewRequest.objects.create(pull_request=asks.pull_request, reviewer=tess)
    _change(api, ben, Stage.IN_REVIEW, "Ben's own")
    _session(api, tess, started_minutes_ago=10)
    _session(api, tess, started_minutes_ago=90)  # window + grace long past: overdue
    return {"tess": tess, "ana": ana, "ben": ben, "api": api}


def test_my_queue_orders_by_urgency_with_the_next_step(client: Any, history: dict[str, Any]) -> None:
    queue = queue_of(history["tess"], now=timezone.now())
    assert [(i.rank, i.title) for i in queue.items] == [
        (OVERDUE_WATCH, "api v1.90"),
        (WATCH, "api v1.10"),
        (BLOCKED, "Tess stuck"),
        (REVIEW, "Ana asks Tess"),
        (STALE, "Tess is old"),
        (FEEDBACK, "Tess got feedback"),
        (ON_ITS_WAY, "Tess on staging"),
        (OWN_WORK, "Tess drafts"),
    ]
    body = client.get(reverse("my-queue")).content.decode()
    assert body.index("api v1.90") < body.index("Ana asks Tess") < body.index("Tess drafts")
    assert "Sign off now: the watch window ended" in body
    assert "Review ana&#x27;s pull request" in body or "Review ana's pull request" in body
    assert "Address the review" in body and "https://preview.example/tess" in body
    assert "Stuck: tagged, not in production" in body
    assert "limit 48 h" in body  # the age of my open PRs against the branch age limit
    assert "Ben&#x27;s own" not in body and "Ben's own" not in body


def test_a_developer_page_shows_anyones_queue(client: Any, history: dict[str, Any]) -> None:
    response = client.get(reverse("person", args=["ana"]))
    body = response.content.decode()
    assert response.status_code == 200 and ("ana&#x27;s queue" in body or "ana's queue" in body)
    assert "Ana asks Tess" in body and "Tess drafts" not in body
    assert client.get(reverse("person", args=["tess"]))["Location"] == reverse("my-queue")
    assert client.get(reverse("person", args=["nobody-here"])).status_code == 404


def test_team_queues_put_the_blocked_first_with_counts(client: Any, history: dict[str, Any]) -> None:
    response = client.get(reverse("team"))
    queues = response.context["queues"]
    assert queues[0].developer.login == "tess"  # blocked: an overdue watch, a stuck change
    tess = queues[0]
    assert (tess.watching, tess.reviews, tess.open_prs, tess.on_its_way) == (2, 1, 3, 2)
    body = response.content.decode()
    assert "Blocked" in body and "ana" in body and "ben" in body


def test_home_sends_a_developer_with_work_to_their_queue_else_to_the_board(
    client: Any, history: dict[str, Any]
) -> None:
    assert client.get("/")["Location"] == reverse("my-queue")
    idle = Client()
    idle.force_login(member("idle"))
    assert idle.get("/")["Location"] == reverse("board")


def test_the_queue_refreshes_as_a_partial(client: Any, history: dict[str, Any]) -> None:
    body = client.get(reverse("my-queue"), headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<div id="queue-items"') and "<html" not in body
    assert 'hx-trigger="every 5s"' in body
    team = client.get(reverse("team"), headers={"HX-Request": "true"}).content.decode()
    assert team.lstrip().startswith('<div id="team-queues"') and "<html" not in team


def test_an_empty_queue_says_so(client: Any) -> None:
    body = client.get(reverse("my-queue")).content.decode()
    assert "Nothing to do" in body


def _more(n: int) -> None:
    api = RepositoryFactory()
    for i in range(n):
        dev = DeveloperFactory()
        for stage in (Stage.IN_PROGRESS, Stage.IN_REVIEW, Stage.MERGED, Stage.TAGGED):
            change = _change(api, dev, stage, f"{stage} {i}")
        ReviewRequest.objects.create(pull_request=change.pull_request, reviewer=Developer.objects.get(login="tess"))
        WatchVerdict.objects.create(session=_session(api, dev, started_minutes_ago=5 + i), verdict="degraded")


@pytest.mark.parametrize("page", ["my-queue", "team"])
def test_queue_query_count_does_not_grow_with_the_data(client: Any, history: dict[str, Any], page: str) -> None:
    counts = []
    for extra in (2, 60):
        _more(extra)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(page)).status_code == 200
        counts.append(len(queries))
    # my queue: who I am, 3 reads, the working agreements (their nudges), the developer; the team: 3 reads, the
    # agreements, the developers
    assert counts[0] == counts[1] == {"my-queue": 7, "team": 5}[page] + SIGNED_IN_PAGE_QUERIES, counts


def test_changes_in_production_make_one_watch_item_per_release_until_a_session_exists(client: Any) -> None:
    from delivery.pipeline.models import ReleaseChange

    tess = Developer.objects.get(login="tess")
    api = RepositoryFactory(name="api")
    now = timezone.now()
    first = _change(
        api, tess, Stage.IN_PRODUCTION, "Speed up search", production_at=now, next_action="Watch production"
    )
    second = _change(api, tess, Stage.IN_PRODUCTION, "Fix login", production_at=now)
    release = Release.objects.create(
        repository=api,
        deployment=DeploymentFactory(repository=api),
        environment="production",
        sha="b" * 40,
        state=Release.State.SUCCEEDED,
        deployed_at=now,
    )
    ReleaseChange.objects.bulk_create([ReleaseChange(release=release, change=c) for c in (first, second)])

    [item] = queue_of(tess, now=now).items
    assert item.rank == WATCH and item.title == "Speed up search and 1 more"
    assert item.url == reverse("release", args=[release.pk])

    session = MonitoringSession.objects.create(
        release=release, owner=tess, window_starts_at=now, window_ends_at=now + timedelta(minutes=30)
    )
    WatchedRelease.objects.create(session=session, release=release, owner=tess, joined_at=now)
    [item] = queue_of(tess, now=now).items
    assert item.session is not None and item.next_step == "Watch production: errors, logs, metrics"


def test_the_team_page_lists_everyone_including_people_with_nothing_waiting(client: Any) -> None:
    api = RepositoryFactory()
    now = timezone.now()
    shipped = DeveloperFactory(login="shipped-it")  # never signed in; a change done yesterday, nothing open
    _change(api, shipped, Stage.DONE, "Done yesterday", pr_opened_at=now - timedelta(days=1))
    member("quiet")  # signs in, owns nothing
    long_gone = DeveloperFactory(login="long-gone")
    _change(api, long_gone, Stage.DONE, "Years ago", pr_opened_at=now - timedelta(days=400))
    left = member("left-us")
    left.is_active = False  # switched off: left the organization
    left.save()
    _change(api, left.developer, Stage.DONE, "Before leaving", pr_opened_at=now - timedelta(days=2))
    DeveloperFactory(login="deploy-bot", is_bot=True)

    response = client.get(reverse("team"))
    logins = [q.developer.login for q in response.context["queues"]]
    assert sorted(logins) == ["quiet", "shipped-it", "tess"]  # tess: the signed-in developer, nothing either
    body = response.content.decode()
    assert body.count("Nothing waiting.") == 3 and "Nothing in the queue" not in body


def test_a_team_card_escapes_what_people_wrote(client: Any) -> None:
    """The cards are written in Python (queues.Queue.card_html), not by the template engine: titles and logins are
    still escaped, and the card says what the template said."""
    api = RepositoryFactory()
    odd = DeveloperFactory(login='o"dd<b>', avatar_url='https://example.com/a.png?x="1"')
    for n in range(4):
        _change(api, odd, Stage.IN_PROGRESS, f"<script>alert({n})</script> & more", first_commit_at=timezone.now())

    body = client.get(reverse("team")).content.decode()
    assert "<script>" not in body and "&lt;script&gt;alert(0)&lt;/script&gt; &amp; more" in body
    assert ">o&quot;dd&lt;b&gt;</a></h2>" in body and 'src="https://example.com/a.png?x=&quot;1&quot;"' in body
    assert "<dt>Open PRs</dt><dd>4</dd>" in body and "and 1 more</a>" in body
    assert body.count('<span class="badge badge-info">My pull request</span>') == 3


def test_a_degraded_watch_in_my_queue_says_so_with_its_evidence(client: Any, history: dict[str, Any]) -> None:
    since = timezone.now() - timedelta(minutes=3)
    session = MonitoringSession.objects.get(release__tag_name="v1.10")
    assert "reads degraded" not in client.get(reverse("my-queue")).content.decode()
    verdict = WatchVerdict.objects.create(
        session=session, verdict="degraded", summary="p95 latency 2.1 s (baseline 0.4 s)", degraded_since=since
    )
    body = client.get(reverse("my-queue")).content.decode()
    assert f"production reads degraded since {timezone.localtime(since):%H:%M}" in body
    assert "p95 latency 2.1 s (baseline 0.4 s)" in body and reverse("watch", args=[session.pk]) in body
    WatchVerdict.objects.filter(pk=verdict.pk).update(verdict="inconclusive")
    body = client.get(reverse("my-queue")).content.decode()
    assert "signals inconclusive" in body and "reads degraded" not in body
