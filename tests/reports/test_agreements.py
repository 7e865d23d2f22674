"""Working agreements on weeks built by hand: each kind judged (kept, broken with the rows that broke it), the value
suggested from the last four weeks, the preview of those weeks, the report's section 2 (snapshot, page, Markdown,
CSV, Slack), and the pages: everyone reads, only admins change (403 and nothing changed for others); their
queries do not grow with the data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from delivery.accounts.models import AuditEvent
from delivery.flows.notices import weekly_report_text
from delivery.reports.agreements import agreement_scope, judge, preview, sensibly, suggestion
from delivery.reports.exports import csv_text, markdown
from delivery.reports.models import Agreement, WeeklyReport
from delivery.reports.services import report_build
from delivery.reports.weeks import IsoWeek
from tests.conftest import member
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, HOUR, WEEK, History, change
from tests.reports.helpers import team

pytestmark = pytest.mark.django_db
W45 = IsoWeek(2026, 45)  # Monday 2 to Sunday 8 November 2026 (UTC in the tests): the History's week
AFTER = date(2026, 11, 10)  # a day of the week after: the last four weeks are W42 to W45
K = Agreement.Kind


def pickups() -> tuple[History, list[Any]]:
    """Three pull requests of the week, by their first review in working hours (Monday to Friday 9 to 17, UTC):
    1 h (Monday 9:00 → 10:00), 3 h over a night (Tuesday 16:00 → Wednesday 11:00: 19 h on the clock) and 14 h
    (Wednesday 9:00 → Thursday 15:00)."""
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    prs = [
        h.merge(ana, opened=0, merged=90, first_commit=-60, reviews=((ben, 60),), number=1, title="One hour"),
        h.merge(
            ben,
            opened=DAY + 7 * HOUR,
            merged=2 * DAY + 3 * HOUR,
            first_commit=DAY,
            reviews=((ana, 2 * DAY + 2 * HOUR),),
            number=2,
            title="Over a night",
        ),
        h.merge(
            ana,
            opened=2 * DAY,
            merged=3 * DAY + 7 * HOUR,
            first_commit=-3 * DAY,  # lived 6 days 7 hours from its first commit
            reviews=((ben, 3 * DAY + 6 * HOUR),),
            number=3,
            title="Waited a day",
            additions=400,
            deletions=100,
        ),
    ]
    h.derive()
    return h, prs


def test_a_first_review_within_n_working_hours_is_broken_by_each_late_pull_request() -> None:
    h, prs = pickups()
    scope = h.scope()

    verdict = judge(K.PICKUP, 4, scope, week="2026-W45")

    assert verdict.status == "broken" and verdict.counted == 3 and verdict.breaks_count == 1
    (row,) = verdict.breaks
    assert row["number"] == 3 and row["url"] == f"/changes/{change(prs[2]).pk}/"
    assert row["value_text"] == "first review after 14.0 working hours"
    assert verdict.value == 3  # the median, in working hours: the night does not count
    assert judge(K.PICKUP, 14, scope).status == "kept"
    assert judge(K.PICKUP, 2.5, scope).breaks_count == 2


def test_the_working_hours_follow_the_calendar_setting(settings: Any) -> None:
    h, _ = pickups()
    settings.WORK_HOURS = "0-24"
    settings.WORK_DAYS = "1-7"
    assert judge(K.PICKUP, 4, h.scope()).breaks_count == 2  # 19 h and 31 h on the clock


def test_branch_age_size_and_lead_time_each_break_with_their_rows() -> None:
    h, _prs = pickups()
    for i in range(1, 4):
        h.deploy("production", i, 4 * DAY)  # everything live on Friday 9:00
    h.derive()
    scope = h.scope()

    ages = judge(K.BRANCH_AGE, 2, scope)
    assert ages.status == "broken" and [r["number"] for r in ages.breaks] == [3]
    assert ages.breaks[0]["value_text"] == "lived 6.3 days"
    assert judge(K.BRANCH_AGE, 7, scope).status == "kept"

    sizes = judge(K.PR_SIZE, 30, scope)  # sizes 40, 40, 500: the median is 40
    assert sizes.status == "broken" and sizes.value == 40 and sizes.breaks_count == 3
    assert judge(K.PR_SIZE, 300, scope).status == "kept"  # one big PR does not move the median

    leads = judge(K.LEAD_TIME, 24, scope)
    assert leads.status == "broken" and leads.value == 97  # 97 h, 72 h and 168 h from the first commit
    assert {r["number"] for r in leads.breaks} == {1, 2, 3}
    assert judge(K.LEAD_TIME, 100, scope).status == "kept"  # the median is within, one change is not


def test_the_failure_rate_and_the_watch_share_judge_the_week_s_figure() -> None:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana = DeveloperFactory(login="ana")
    for i in range(4):
        h.merge(ana, opened=i * 60, merged=i * 60 + 30, first_commit=i * 60 - 30, number=10 + i)
    deploys = [h.deploy("production", i + 1, i * 60 + 45) for i in range(4)]
    h.derive()
    failed = h.fail(deploys[1], "Checkout broke", 200)
    h.watch(h.release(deploys[0]), ana, ends=100, signed_off=90)
    h.watch(h.release(deploys[2]), ana, ends=300, signed_off=400, reminded=350)  # late
    scope = h.scope()

    rate = judge(K.FAILURE_RATE, 10, scope)  # 1 of 4
    assert rate.status == "broken" and rate.value == 25
    assert [r["url"] for r in rate.breaks] == [f"/releases/{failed.pk}/"]
    assert judge(K.FAILURE_RATE, 25, scope).status == "kept"

    watched = judge(K.WATCHED, 90, scope)  # 1 of 2 in time
    assert watched.status == "broken" and watched.value == 50 and watched.breaks_count == 1
    assert watched.breaks[0]["value_text"] == "not signed off in time"
    assert judge(K.WATCHED, 50, scope).status == "kept"


def test_an_empty_week_has_nothing_to_judge() -> None:
    History(owner="acme", name="billing", full_name="acme/billing")
    scope = agreement_scope(*WEEK, team=None)
    for kind in K.values:
        assert judge(kind, 1, scope).status == "nothing to judge"


def test_a_team_s_agreement_counts_its_members_work_only() -> None:
    h, _ = pickups()
    payments = team("payments", h.repo.pull_requests.get(number=2).author)  # ben
    assert judge(K.PICKUP, 4, agreement_scope(*WEEK, team=payments)).status == "kept"  # ben's PR waited 3 h


def test_suggestions_start_from_the_last_four_weeks_ten_percent_better() -> None:
    h, _ = pickups()
    h.repo.branch_age_limit_hours = 72
    h.repo.save()

    pickup = suggestion(K.PICKUP, team=None, on=AFTER)
    assert pickup.value == 2.5  # median 3 working hours, times 0.9 = 2.7, rounded to a half hour
    size = suggestion(K.PR_SIZE, team=None, on=AFTER)
    assert size.value == 40  # median 40 lines times 0.9 = 36, rounded to ten lines
    branch = suggestion(K.BRANCH_AGE, team=None, on=AFTER)
    assert branch.value == 3 and "branch age limit (72 h)" in branch.why  # the repository's setting drives it
    nothing = suggestion(K.LEAD_TIME, team=None, on=AFTER)
    assert nothing.value == 24 and "nothing to start from" in nothing.why
    assert [sensibly(K.LEAD_TIME, v) for v in (0.1, 2.7, 9.4, 30.6)] == [0.5, 2.5, 9, 31]
    assert [sensibly(K.PR_SIZE, v) for v in (3, 144, 333)] == [10, 140, 350]
    assert [sensibly(K.WATCHED, v) for v in (104.5, 88.6)] == [100, 89]


def test_the_preview_judges_each_of_the_last_four_weeks() -> None:
    _h, prs = pickups()

    weeks = preview(K.PICKUP, 4, team=None, on=AFTER)

    assert [w.week for w in weeks] == ["2026-W42", "2026-W43", "2026-W44", "2026-W45"]
    assert [w.status for w in weeks] == ["nothing to judge"] * 3 + ["broken"]
    assert weeks[-1].breaks[0]["url"] == f"/changes/{change(prs[2]).pk}/"


def test_the_report_s_section_two_lists_kept_and_broken_agreements_with_their_breaks(client: Any) -> None:
    _h, prs = pickups()
    Agreement.objects.create(kind=K.PICKUP, threshold=4)
    Agreement.objects.create(kind=K.PR_SIZE, threshold=300)
    payments = team("payments", prs[0].author)
    Agreement.objects.create(kind=K.BRANCH_AGE, threshold=1, team=payments)

    report = report_build(week=W45).report
    section = report.figures["agreements"]

    assert (section["kept"], section["broken"]) == (1, 2)
    by_kind = {a["kind"]: a for a in section["agreements"]}
    assert by_kind["pickup"]["status"] == "broken" and by_kind["pickup"]["breaks"][0]["number"] == 3
    assert by_kind["pr_size"]["status"] == "kept" and by_kind["pr_size"]["breaks"] == []
    assert by_kind["branch_age"]["scope"] == "team Payments, every followed repository"
    assert [r["number"] for r in by_kind["branch_age"]["breaks"]] == [3]  # ana's PR, not ben's
    team_report = report_build(week=W45, team=payments).report
    assert [a["kind"] for a in team_report.figures["agreements"]["agreements"]] == ["branch_age"]

    html = client.get("/reports/2026-W45/").content.decode()
    assert "Working agreements" in html and html.index("Working agreements") < html.index("What shipped")
    assert "Pull requests get a first review within 4 working hours" in html
    assert "1 of 3 pull requests over" in html and "1 of 2 branches over" in html  # per-row rules: rows over
    assert f'href="/changes/{change(prs[2]).pk}/"' in html
    text = markdown(report.figures, title="W45")
    assert "## Working agreements" in text and "- **broken**: Pull requests get a first review within 4" in text
    assert "first review after 14.0 working hours" in text
    rows = csv_text(report.figures, "agreements").splitlines()
    assert rows[0].startswith("agreement,scope,status") and len(rows) == 1 + 3
    slack = weekly_report_text(report, "/r")
    assert "Agreements broken (2): Pull requests get a first review within 4 working hours (1 time)" in slack


def test_a_report_stored_before_the_agreements_stays_as_it_was(client: Any) -> None:
    pickups()
    report = report_build(week=W45).report
    old = {k: v for k, v in report.figures.items() if k != "agreements"}
    WeeklyReport.objects.filter(pk=report.pk).update(figures=old)
    Agreement.objects.create(kind=K.PICKUP, threshold=4)

    html = client.get("/reports/2026-W45/").content.decode()
    assert "Working agreements" not in html.split("<main")[1].split("What shipped")[0]
    assert "## Working agreements" not in markdown(old, title="W45")
    assert WeeklyReport.objects.get(pk=report.pk).figures == old  # reading never rebuilds


# -- the pages ------------------------------------------------------------------------------------------------------
@pytest.fixture
def week_after(monkeypatch: Any) -> None:
    """The pages' "last four weeks" are W42 to W45 (today is in the week after the History's)."""
    monkeypatch.setattr("delivery.reports.agreements.today", lambda: AFTER)


def _admin() -> Client:
    browser = Client()
    browser.force_login(member("ada", "admin"))
    return browser


def test_an_admin_previews_then_saves_an_agreement_and_it_is_audited(week_after: None) -> None:
    h, prs = pickups()
    admin = _admin()

    page = admin.get("/settings/agreements/", {"kind": "pickup", "team": ""})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Suggested N: <strong>2.5 working hours</strong>" in html
    assert f'href="/changes/{change(prs[2]).pk}/"' in html  # the preview lists the rows that broke it

    saved = admin.post("/settings/agreements/", {"kind": "pickup", "threshold": "4", "repositories": [h.repo.pk]})
    assert saved.status_code == 302
    agreement = Agreement.objects.get()
    assert (agreement.kind, agreement.threshold, list(agreement.repositories.all())) == ("pickup", 4, [h.repo])
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.AGREEMENT_SET)
    assert event.actor_login == "ada" and "first review within 4 working hours (the organization, acme/billing)" in (
        event.summary
    )
    assert "Pull requests get a first review within 4 working hours" in admin.get("/agreements/").content.decode()

    assert admin.post(f"/settings/agreements/{agreement.pk}/remove/").status_code == 302
    assert not Agreement.objects.exists() and AuditEvent.objects.filter(verb=AuditEvent.Verb.AGREEMENT_REMOVED).exists()


def test_the_preview_shows_n_as_typed_and_per_row_rules_as_rows_over(week_after: None) -> None:
    pickups()
    admin = _admin()

    html = admin.get("/settings/agreements/", {"kind": "branch_age", "team": "", "threshold": "0.15"}).content.decode()

    assert "N = 0.15 days (3.6 hours)" in html and "0.2 days" not in html
    # two branches of the three lived past 0.15 days in W45: the figure is what was counted, not a median
    assert "<td>2 of 3 branches over</td>" in html and "<td>1.1 days" not in html  # not the median branch age
    assert 'name="kind" value="branch_age" checked' in html  # the kinds are choices that wrap, not a cut <select>
    pickup = admin.get("/settings/agreements/", {"kind": "pickup", "team": "", "threshold": "4"}).content.decode()
    assert "1 of 3 pull requests over" in pickup


def test_a_form_that_cannot_work_is_refused_in_words() -> None:
    admin = _admin()
    refused = admin.post("/settings/agreements/", {"kind": "change_failure_rate", "threshold": "120"})
    assert refused.status_code == 400 and "A share is at most 100 %." in refused.content.decode()
    refused = admin.post("/settings/agreements/", {"kind": "pickup", "threshold": "-1"})
    assert refused.status_code == 400 and "N is more than 0." in refused.content.decode()
    assert not Agreement.objects.exists()


def test_only_admins_set_or_remove_agreements_and_everyone_reads_them(client: Any) -> None:
    agreement = Agreement.objects.create(kind=K.PICKUP, threshold=4)

    assert client.get("/agreements/").status_code == 200
    refused = client.get("/settings/agreements/")
    assert refused.status_code == 403 and "setting working agreements" in refused.content.decode()
    assert client.post("/settings/agreements/", {"kind": "pr_size", "threshold": "300"}).status_code == 403
    assert client.post(f"/settings/agreements/{agreement.pk}/remove/").status_code == 403
    assert list(Agreement.objects.values_list("kind", flat=True)) == ["pickup"]
    assert not AuditEvent.objects.filter(verb__startswith="agreement").exists()


def _queries(browser: Client, url: str, params: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(url, params or {}).status_code == 200
    return len(queries)


def test_the_pages_queries_do_not_grow_with_the_data(week_after: None) -> None:
    admin = _admin()
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")

    def more(start: int, count: int) -> None:
        for i in range(start, start + count):
            h.merge(ana, opened=i * 60, merged=i * 60 + 50, first_commit=i * 60 - 30, reviews=((ben, i * 60 + 40),))
        h.derive()
        Agreement.objects.create(kind=K.PICKUP if start % 2 else K.PR_SIZE, threshold=0.1)
        report_build(week=W45)

    pages = [
        ("/agreements/", None),
        ("/settings/agreements/", None),
        ("/settings/agreements/", {"kind": "pickup"}),
        ("/reports/2026-W45/", None),
    ]
    more(0, 2)
    before = [_queries(admin, url, params) for url, params in pages]
    more(2, 10)
    assert [_queries(admin, url, params) for url, params in pages] == before
