"""The on-call page: per repository what is live, the watches, rollbacks, failed deploys; trouble first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.flows.watches import watches_open
from delivery.monitoring.models import MonitoringSession, WatchVerdict
from tests.conftest import SIGNED_IN_PAGE_QUERIES, member
from tests.factories import DeploymentFactory, RepositoryFactory
from tests.rollbacks.helpers import history, release, rollback_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client: Any) -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)
    made["olga"] = olga
    watches_open(repository_id=made["repo"].pk)
    calm = RepositoryFactory(name="calm", full_name="acme/calm")
    release(calm, "v3.0", at=timezone.now() - timedelta(days=3), owners=[pete.developer])
    return {"client": client, **made, "calm": calm}


def test_trouble_comes_first_with_live_known_good_and_watches(page: dict[str, Any]) -> None:
    DeploymentFactory(
        repository=page["calm"],
        environment="production",
        sha="f" * 40,
        ref="v3.1",
        state="failure",
        state_at=timezone.now() - timedelta(minutes=5),
    )
    response = page["client"].get(reverse("on-call"))
    body = response.content.decode()
    rows = response.context["rows"]
    assert [r.repository.name for r in rows] == ["calm", "api"]  # a failed deploy outranks open watches
    api = rows[1]
    assert api.live.tag_name == "v1.2" and api.known_good.tag_name == "v1.0"  # v1.1 failed
    assert sorted(s.owner.login for s in api.sessions if s.release_id == page["v1.2"].pk) == ["olga", "pete"]
    assert "Deploy failed" in body and "Being watched" in body and "left" in body
    assert 'Latest deploy, of <span class="mono">v3.1</span>, ended in failure' in body
    assert "shipped by olga, pete" in body and 'Last known good: <span class="mono">v1.0</span>' in body


def test_a_rollback_in_flight_is_shown_first(page: dict[str, Any]) -> None:
    rollback_row(page)
    response = page["client"].get(reverse("on-call"))
    assert response.context["rows"][0].repository.name == "api"
    assert "Rollback to v1.0: requested" in response.content.decode()


def test_the_page_refreshes_as_a_partial_and_reads_a_fixed_number_of_queries(page: dict[str, Any]) -> None:
    partial = page["client"].get(reverse("on-call"), headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="on-call-rows"')
    counts = []
    for n in (1, 15):
        for i in range(n):
            repo = RepositoryFactory()
            release(repo, f"v{i}.0", at=timezone.now() - timedelta(hours=2), owners=[member(f"d{n}-{i}").developer])
            release(repo, f"v{i}.1", at=timezone.now() - timedelta(minutes=5), owners=[member(f"e{n}-{i}").developer])
            watches_open(repository_id=repo.pk)
            for session in MonitoringSession.objects.filter(release__repository=repo):
                WatchVerdict.objects.create(session=session, verdict="degraded", summary="5xx up")
        with CaptureQueriesContext(connection) as queries:
            assert page["client"].get(reverse("on-call")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 10 + SIGNED_IN_PAGE_QUERIES, counts  # one of them the firing alerts


def test_the_rollback_button_shows_only_where_the_person_may_press_it(page: dict[str, Any]) -> None:
    def body(user: Any) -> str:
        client = Client()
        client.force_login(user)
        return client.get(reverse("on-call")).content.decode()

    new_for_api = reverse("rollback-new", args=[page["v1.2"].pk])
    assert new_for_api not in body(member("vic", role="viewer"))
    assert "Roll back…" not in page["client"].get(reverse("on-call")).content.decode()  # tess owns nothing live
    assert new_for_api in body(page["olga"])  # an owner of what is live in api
    on_call = body(member("ona", role="on-call"))
    assert new_for_api in on_call and on_call.count("Roll back…") == 2  # both repositories


def test_cards_keep_their_order_while_watches_tick_towards_overdue(page: dict[str, Any]) -> None:
    from delivery.rollbacks.selectors import on_call_board

    now = timezone.now()
    web = RepositoryFactory(name="web", full_name="acme/web")
    release(web, "v2.0", at=now - timedelta(minutes=40), owners=[page["olga"].developer])  # overdue in 5 min
    watches_open(repository_id=web.pk, now=now)
    orders = []
    for later in (0, 6, 30):
        rows = on_call_board(now=now + timedelta(minutes=later))
        orders.append([r.repository.name for r in rows])
    assert orders == [["api", "web", "calm"]] * 3, orders  # watched ones, then calm ones, each by name
    assert [s.state for s in on_call_board(now=now + timedelta(minutes=6))[1].sessions] == ["overdue"]


def test_a_degraded_watch_says_so_with_its_evidence_and_links_and_an_inconclusive_one_quietly(
    page: dict[str, Any],
) -> None:
    since = timezone.now() - timedelta(minutes=4)
    olgas = MonitoringSession.objects.get(release=page["v1.2"], owner__login="olga")
    petes = MonitoringSession.objects.get(release=page["v1.2"], owner__login="pete")
    calm_before = page["client"].get(reverse("on-call")).content.decode()
    assert "reads degraded" not in calm_before and "Being watched" in calm_before
    WatchVerdict.objects.create(
        session=olgas, verdict="degraded", summary="checkout 5xx at 4.2 % (baseline 0.3 %)", degraded_since=since
    )
    WatchVerdict.objects.create(session=petes, verdict="inconclusive", summary="Sentry did not answer")

    def body(client: Any) -> str:
        return client.get(reverse("on-call")).content.decode()

    seen = body(page["client"])  # tess: may not roll back api
    assert "Production degraded" in seen and "Being watched" not in seen
    assert f"production reads degraded since {timezone.localtime(since):%H:%M}" in seen
    assert "checkout 5xx at 4.2 % (baseline 0.3 %)" in seen and reverse("watch", args=[olgas.pk]) in seen
    assert "signals inconclusive" in seen
    rollback = reverse("rollback-new", args=[page["v1.2"].pk])
    assert rollback not in seen
    client = Client()
    client.force_login(page["olga"])
    assert body(client).count(rollback) == 3  # the card button's action and hx-get, and the degraded watch's link
