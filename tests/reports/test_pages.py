"""The report pages and exports read the stored snapshot: the list, a week's report (organization and team), its
versions, Markdown and CSV; their queries do not grow with the data."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.accounts.models import Team
from delivery.github.models import Deployment
from delivery.reports.services import report_build
from delivery.reports.weeks import IsoWeek
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, HOUR, History
from tests.reports.helpers import rollback, team

pytestmark = pytest.mark.django_db
W45 = IsoWeek(2026, 45)


def build(prs: int) -> History:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    team("payments", ana)
    for i in range(prs):
        h.merge(ana if i % 2 else ben, opened=i * 60, merged=i * 60 + 30, first_commit=i * 60 - 30)
        h.deploy("production", i + 1, i * 60 + 45)
    h.derive()
    return h


def test_the_report_page_shows_every_section_and_links_its_evidence(client: Any) -> None:
    h = build(3)
    rollback(
        h,
        h.release(h.repo.deployments.order_by("-pk")[0]),
        h.release(h.repo.deployments.order_by("pk")[0]),
        reason="Checkout <errors> after the deploy",
        minutes=4 * DAY + 7 * HOUR,
    )
    h.derive()
    report_build(week=W45)

    html = client.get("/reports/2026-W45/").content.decode()

    for heading in (
        "The five keys",
        "What shipped",
        "What failed",
        "The watch",
        "Process breaches",
        "Outliers",
        "Talking points",
    ):
        assert heading in html
    assert "Checkout &lt;errors&gt; after the deploy" in html  # the rollback's reason, escaped
    assert 'class="spark"' in html and "figure=lead_time" in html
    assert "/reports/2026-W45/report.md" in html and "/reports/2026-W45/shipped.csv" in html
    listing = client.get("/reports/").content.decode()
    assert 'href="/reports/2026-W45/"' in listing
    assert client.get("/reports/2026-W45/teams/payments/").status_code == 404  # not built yet
    report_build(week=W45, team=Team.objects.get(slug="payments"))
    assert "Week 2026-W45 — team Payments" in client.get("/reports/2026-W45/teams/payments/").content.decode()
    assert "/reports/2026-W45/teams/payments/" in client.get("/reports/").content.decode()


def test_markdown_and_csv_exports(client: Any) -> None:
    build(2)
    report_build(week=W45)

    markdown = client.get("/reports/2026-W45/report.md")
    assert markdown["Content-Type"].startswith("text/markdown")
    text = markdown.content.decode()
    assert text.startswith("# Week 2026-W45 — the organization (version 1)\n")
    assert "| key | this week | level | score | 4 weeks before |" in text
    assert "### acme/billing" in text and "## Talking points" in text
    rows = list(csv.reader(io.StringIO(client.get("/reports/2026-W45/shipped.csv").content.decode())))
    assert rows[0][:3] == ["repository", "release", "deployed_at"] and len(rows) == 3
    assert client.get("/reports/2026-W45/nothing.csv").status_code == 404


def test_what_failed_shows_a_rollback_deployment_and_a_hotfix_with_what_they_recovered(client: Any) -> None:
    h = build(2)
    ana = DeveloperFactory(login="cleo")
    h.merge(ana, opened=190, merged=210, first_commit=185)
    broken = h.deploy("production", 3, 220, state="failure")
    back = h.deploy("production", 2, 240)
    Deployment.objects.filter(pk=back.pk).update(is_rollback=True, description="Rollback <to> v2")
    h.merge(ana, opened=250, merged=260, first_commit=245, head_ref="hotfix/guard", title="Guard the cart")
    h.deploy("production", 4, 300)
    h.derive()
    report_build(week=W45)

    html = client.get("/reports/2026-W45/").content.decode()
    text = client.get("/reports/2026-W45/report.md").content.decode()

    assert "a rollback deployment, not asked in Trunkline" in html and "“Rollback &lt;to&gt; v2”" in html
    assert f'Recovered <a href="/repositories/{h.repo.pk}/">acme/billing {broken.sha[:7]}</a>' in html
    assert "Guard the cart" in html and "hotfix/guard" in html and "it recovered no failed release" in html
    assert "(a rollback deployment, not asked in Trunkline)" in text and "from hotfix/guard" in text
    assert f"recovered [acme/billing {broken.sha[:7]}]" in text


def test_a_rebuilt_report_lists_its_versions_and_what_differs(client: Any) -> None:
    h = build(2)
    report_build(week=W45)
    h.fail(h.repo.deployments.order_by("pk")[0], "Fix forward (ana)", 200)
    report_build(week=W45)

    latest = client.get("/reports/2026-W45/").content.decode()
    first = client.get("/reports/2026-W45/", {"version": 1}).content.decode()

    assert "version 2" in latest and "Change failure rate: 0 % → 50 %" in latest
    assert "the latest is" in first
    assert client.get("/reports/2026-W45/", {"version": 9}).status_code == 404
    assert client.get("/reports/2025-W53/").status_code == 404


@pytest.mark.parametrize("prs", [2, 12])
def test_the_pages_take_the_same_number_of_queries_whatever_the_data(client: Any, prs: int) -> None:
    build(prs)
    report_build(week=W45)
    client.get("/reports/")
    counts = []
    for path in ("/reports/", "/reports/2026-W45/", "/reports/2026-W45/report.md", "/reports/2026-W45/shipped.csv"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(len(queries))
    assert counts == EXPECTED_QUERIES, counts


EXPECTED_QUERIES = [8, 7, 3, 3]
