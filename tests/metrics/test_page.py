"""The metrics page and the evidence page: the API's numbers, charts drawn by the server, filters in the URL, a
constant number of queries; the API tokens page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.accounts.models import ApiToken
from tests.conftest import member
from tests.factories import DeveloperFactory, SyncRunFactory
from tests.metrics.history import WEEK, History

pytestmark = pytest.mark.django_db
PERIOD = {"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat()}


def build(prs: int) -> History:
    h = History(owner="acme", name="shop", full_name="acme/shop")
    dev, reviewer = DeveloperFactory(login="ana"), DeveloperFactory(login="rev")
    for i in range(prs):
        h.merge(dev, opened=i * 60, merged=i * 60 + 30, first_commit=i * 60 - 30, reviews=((reviewer, i * 60 + 10),))
        h.deploy("production", i + 1, i * 60 + 45, state="failure" if i % 3 == 2 else "success")
    h.deploy("production", 1, prs * 60 + 10)  # a rollback to the first
    h.derive()
    return h


def test_the_page_shows_the_five_keys_their_charts_and_the_process(client: Any) -> None:
    build(6)
    api = client.get("/api/v1/metrics/", PERIOD).json()

    page = client.get("/metrics/", PERIOD)

    assert page.status_code == 200
    html = page.content.decode()
    for title in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Failed deployment recovery"):
        assert title in html
    assert "Deployment rework rate" in html
    failed, releases = api["change_failure_rate"]["failed"], api["change_failure_rate"]["releases"]
    assert f"{failed} of {releases} releases failed" in html
    assert html.count('class="bar bar-release"') == 1 and 'class="bar bar-rollback"' in html  # all on one day
    assert 'class="mark-failed"' in html
    assert "figure=lead_time" in html and "figure=change_failure_rate" in html  # each figure opens its rows
    assert re.search(r"Squash merged</th><td>100 %</td>", html)
    # Every change took 75 minutes from its first commit to production: all in one band of the distribution.
    changes = api["lead_time"]["changes"]
    assert re.search(rf'1 hour to 1 day</span><svg[^>]*>.*?</svg><span class="hbar-n">{changes}</span>', html, re.S)


@pytest.mark.parametrize("prs", [3, 18])
def test_the_page_takes_the_same_number_of_queries_whatever_the_history(client: Any, prs: int) -> None:
    build(prs)
    client.get("/metrics/", PERIOD)  # sessions and permissions warmed like any page

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/metrics/", PERIOD).status_code == 200

    assert len(queries) == 28


def test_the_evidence_page_lists_what_a_figure_counts_with_links(client: Any) -> None:
    build(3)
    page = client.get("/metrics/evidence/", {**PERIOD, "figure": "lead_time"})
    assert page.status_code == 200
    assert page.content.decode().count('href="/changes/') == 2  # the third never reached production
    assert client.get("/metrics/evidence/", {**PERIOD, "figure": "nope"}).status_code == 400


def test_a_wrong_filter_is_answered_on_the_page_in_words(client: Any) -> None:
    page = client.get("/metrics/", {"from": "2026-11-02", "to": "last week"})
    assert page.status_code == 400
    assert "to must be a date written YYYY-MM-DD" in page.content.decode()


def test_a_person_makes_a_token_sees_it_once_and_revokes_it() -> None:
    tess, other = Client(), Client()
    tess.force_login(member("tess"))
    other.force_login(member("otto"))

    refused = tess.post("/settings/tokens/", {"name": "", "days": "90"})
    made = tess.post("/settings/tokens/", {"name": "Grafana", "days": "30"})

    assert refused.status_code == 400 and "Name the token" in refused.content.decode()
    raw = re.search(r'value="(tl_[^"]+)"', made.content.decode())
    assert raw, "the new token is shown once"
    assert raw.group(1) not in tess.get("/settings/tokens/").content.decode()
    token = ApiToken.objects.get(name="Grafana")
    assert tess.post("/settings/tokens/", {"name": "x", "days": "999"}).status_code == 400
    assert other.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404  # not theirs
    assert tess.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert tess.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302  # a double click changes nothing
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client(headers={"Authorization": f"Bearer {raw.group(1)}"}).get("/api/v1/metrics/").status_code == 401


def test_the_tokens_are_linked_from_every_page_s_header_and_from_the_settings() -> None:
    tess, boss = Client(), Client()
    tess.force_login(member("tess"))
    boss.force_login(member("boss", role="admin"))

    assert 'class="topbar-link" href="/settings/tokens/"' in tess.get("/me/").content.decode()
    assert 'href="/settings/tokens/" aria-current="page"' in tess.get("/settings/tokens/").content.decode()
    assert ">Your API tokens</a>" in boss.get("/settings/team/").content.decode()


def test_reviews_per_reviewer_are_listed_for_admins_and_summed_for_everyone(client: Any) -> None:
    build(4)  # "rev" reviews each of ana's four pull requests
    admin = Client()
    admin.force_login(member("boss", role="admin"))

    everyone = client.get("/metrics/", PERIOD).content.decode()
    admins = admin.get("/metrics/", PERIOD).content.decode()

    assert "Reviews given (1 reviewer, median 4 each)</th><td>4</td>" in everyone
    assert "rev <strong>4</strong>" in admins and "rev <strong>4</strong>" not in everyone


def test_an_admin_can_pick_anyone_who_authored_a_change_a_developer_only_themselves() -> None:
    build(2)  # ana authored them; she never signed in
    DeveloperFactory(login="renovate", is_bot=False)  # a bot by the METRICS_BOT_LOGINS list
    admin, developer = Client(), Client()
    admin.force_login(member("boss", role="admin"))
    developer.force_login(member("tess"))

    for_admin = admin.get("/metrics/", PERIOD).content.decode()
    for_developer = developer.get("/metrics/", PERIOD).content.decode()

    assert '<option value="ana"' in for_admin and '<option value="renovate"' not in for_admin
    assert '<option value="ana"' not in for_developer and '<option value="tess"' in for_developer


def test_a_previous_period_before_the_synced_history_is_said_not_compared(client: Any, settings: Any) -> None:
    h = build(2)
    SyncRunFactory(repository=h.repo)  # the first sync, now: it read SYNC_BACKFILL_DAYS back, to 30 Oct
    settings.SYNC_BACKFILL_DAYS = (timezone.now() - datetime(2026, 10, 30, tzinfo=UTC)).days

    html = client.get("/metrics/", PERIOD).content.decode()

    assert "No trends: the previous period (26 Oct \u2013 1 Nov) starts before the synced history" in html
    assert "Trends compare with" not in html


def test_the_process_evidence_names_the_checks_in_words_and_pages_its_rows(client: Any) -> None:
    build(3)
    html = client.get("/metrics/evidence/", {**PERIOD, "figure": "process"}).content.decode()

    assert "no_preview" not in html and "No successful preview deployment" in html
    assert 'rel="next"' not in html  # one page
