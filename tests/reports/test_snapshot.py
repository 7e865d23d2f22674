"""A week's report, section by section, on weeks built by hand; stored once and never changed by later data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.test import Client, override_settings

from delivery.github.models import Deployment
from delivery.monitoring.models import MonitoringSession, WatchVerdict
from delivery.pipeline.models import Release
from delivery.reports.exports import csv_text
from delivery.reports.models import WeeklyReport
from delivery.reports.services import report_build
from delivery.reports.snapshot import snapshot
from delivery.reports.weeks import IsoWeek, WeekError, week_just_ended, when
from delivery.rollbacks.models import Rollback
from tests.conftest import member
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, HOUR, History, at
from tests.reports.helpers import rollback, team

pytestmark = pytest.mark.django_db
W45 = IsoWeek(2026, 45)  # Monday 2 to Sunday 8 November 2026: the History's week


def _key(document: dict, name: str) -> dict:
    return next(k for k in document["keys"] if k["key"] == name)


def test_an_empty_week_has_every_section_and_says_nothing_shipped() -> None:
    document = snapshot(W45)

    assert document["week"] == "2026-W45" and (document["from"], document["to"]) == ("2026-11-02", "2026-11-08")
    assert [k["key"] for k in document["keys"]] == [
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "recovery_time",
        "rework_rate",
    ]
    frequency = _key(document, "deployment_frequency")
    assert frequency["value"] == 0 and [t["week"] for t in frequency["trend"]] == [
        "2026-W41",
        "2026-W42",
        "2026-W43",
        "2026-W44",
        "2026-W45",
    ]
    assert _key(document, "lead_time")["value"] is None and _key(document, "change_failure_rate")["level"] is None
    assert document["shipped"] == {**document["shipped"], "releases": 0, "changes": 0, "repositories": []}
    assert document["failed"]["failures"] == [] and document["failed"]["rollbacks"] == []
    assert document["watch"]["due"] == 0 and document["watch"]["overdue"] == []
    assert all(c["count"] == 0 for c in document["breaches"]["checks"])
    assert document["outliers"]["longest_lived"] == []
    assert [p["text"] for p in document["talking_points"]] == ["Nothing reached production this week."]


def test_a_week_with_a_rollback_lists_what_shipped_what_failed_and_why() -> None:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    h.merge(ana, opened=0, merged=60, first_commit=-120, reviews=((ben, 20),))
    h.merge(ben, opened=70, merged=4 * 24 * HOUR, first_commit=60, reviews=((ana, 26 * HOUR),), merge_commit=True)
    good = h.deploy("production", 1, 90)
    h.tag("v1.0.0", 1, 85)
    h.tag("v1.1.0", 2, 4 * DAY + 100)
    bad = h.deploy("production", 2, 4 * DAY + 6 * HOUR)  # Friday 6 November, 15:00 UTC
    h.derive()
    undo = rollback(h, h.release(bad), h.release(good), reason="Checkout errors", minutes=4 * DAY + 7 * HOUR)
    back = h.deploy("production", 1, 4 * DAY + 7 * HOUR + 10)  # the rollback goes live ten minutes later
    Rollback.objects.filter(pk=undo.pk).update(deployment=back)  # as the flow records it once GitHub reports it
    h.derive()

    document = snapshot(W45)

    shipped = document["shipped"]
    assert shipped["releases"] == 2 and shipped["changes"] == 2
    [billing] = shipped["repositories"]
    assert billing["name"] == "acme/billing"
    assert [(r["tag"], r["owners"], r["failed"]) for r in billing["releases"]] == [
        ("v1.0.0", ["ana"], False),
        ("v1.1.0", ["ben"], True),
    ]
    assert billing["releases"][1]["changes"][0]["author"] == "ben"
    assert billing["releases"][1]["url"] == f"/releases/{h.release(bad).pk}/"
    [failure] = document["failed"]["failures"]
    assert failure["tag"] == "v1.1.0" and failure["why"] == "Rolled back: Checkout errors"
    assert failure["recovery_seconds"] == 10 * 60 and failure["recovered_by"] is not None
    [undone] = document["failed"]["rollbacks"]  # Trunkline's rollback and the release it became: one row
    assert undone | {"url": None, "requested_at": None, "deployed_at": None, "recovered": None} == {
        "repository": "acme/billing",
        "url": None,
        "target": "v1.0.0",
        "undone": ["v1.1.0"],
        "state": "succeeded",
        "reason": "Checkout errors",
        "by": "ana",
        "requested_at": None,
        "via": "trunkline",
        "release_url": f"/releases/{h.release(back).pk}/",
        "deployed_at": None,
        "recovered": None,
    }
    assert [(r["tag"], r["recovery_seconds"]) for r in undone["recovered"]] == [("v1.1.0", 10 * 60)]
    merge = next(c for c in document["breaches"]["checks"] if c["check"] == "merge_breach")
    assert merge["count"] == 1 and merge["rows"][0]["author"] == "ben"
    assert document["outliers"]["longest_lived"][0]["author"] == "ben"
    assert document["outliers"]["slowest_pickups"][0]["seconds"] == 26 * 3600 - 70 * 60
    assert document["outliers"]["pickups_over_a_day"] == 1
    texts = [p["text"] for p in document["talking_points"]]
    assert texts[0] == "One rollback in billing, on Friday afternoon: “Checkout errors”."
    assert texts[1].startswith("One of 2 releases failed (change failure rate 50 %")
    assert any(t.startswith("One PR waited more than a day for a first review") for t in texts)
    assert 3 <= len(texts) <= 6
    assert all(p["evidence"] for p in document["talking_points"])


def test_a_team_report_counts_its_members_work_only() -> None:
    h = History()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    payments = team("payments", ana)
    h.merge(ana, opened=0, merged=30, first_commit=-10)
    first = h.deploy("production", 1, 40)
    h.merge(ben, opened=50, merged=80, first_commit=45)
    h.deploy("production", 2, 100)
    h.derive()

    document = snapshot(W45, team=payments)

    assert document["team"] == {"slug": "payments", "name": "Payments"}
    assert [r["url"] for r in document["shipped"]["repositories"][0]["releases"]] == [
        f"/releases/{h.release(first).pk}/"
    ]
    assert "team=payments" in _key(document, "lead_time")["evidence"]


def test_iso_week_53_runs_into_the_next_year() -> None:
    week = IsoWeek.parse("2026-W53")
    assert (week.monday, week.sunday) == (date(2026, 12, 28), date(2027, 1, 3))
    assert week.before(1).label == "2026-W52" and IsoWeek(2027, 1).before(1) == week
    with pytest.raises(WeekError, match="2025 has no ISO week 53"):
        IsoWeek.parse("2025-W53")
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-10)
    h.deploy("production", 1, (date(2027, 1, 2) - date(2026, 11, 2)).days * DAY)  # Saturday 2 January 2027
    h.derive(now=70 * DAY)

    built = report_build(week=week)

    assert (built.report.iso_year, built.report.iso_week, built.report.version) == (2026, 53, 1)
    assert built.report.figures["shipped"]["releases"] == 1
    assert built.report.figures["to"] == "2027-01-03"


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_the_week_is_monday_to_sunday_in_the_organizations_time_zone() -> None:
    # Monday 9 November, 07:00 in Tokyo is still Sunday 22:00 in UTC: the week just ended is W45 all the same.
    assert week_just_ended(datetime(2026, 11, 8, 22, 0, tzinfo=UTC)) == W45
    assert week_just_ended(datetime(2026, 11, 8, 14, 0, tzinfo=UTC)) == IsoWeek(2026, 44)  # Sunday 23:00 in Tokyo
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=-10 * HOUR, merged=-9 * HOUR, first_commit=-11 * HOUR)
    h.merge(dev, opened=-8 * HOUR, merged=-8.5 * HOUR + 20, first_commit=-9 * HOUR)
    inside = h.deploy("production", 1, -8 * HOUR)  # Monday 2 November 10:00 in Tokyo (Monday 01:00 UTC)
    h.deploy("production", 2, 6 * DAY + 11 * HOUR)  # Sunday 8 November 20:00 UTC: Monday 9 November in Tokyo
    h.derive()

    document = snapshot(W45)

    releases = document["shipped"]["repositories"][0]["releases"]
    assert [r["url"] for r in releases] == [f"/releases/{h.release(inside).pk}/"]
    assert releases[0]["deployed_at"] == "2026-11-02T10:00:00+09:00"


def test_a_stored_report_never_changes_and_a_rebuild_that_differs_is_a_new_version() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-10)
    deployment = h.deploy("production", 1, 40)
    h.derive()
    first = report_build(week=W45)
    frozen = WeeklyReport.objects.get(pk=first.report.pk).figures

    h.fail(deployment, "Signed off: roll back (ana)", 100)  # later data: the release failed after all
    h.merge(dev, opened=200, merged=230, first_commit=190)
    h.deploy("production", 2, 240)
    h.derive()

    assert WeeklyReport.objects.get(pk=first.report.pk).figures == frozen
    assert frozen["figures"]["change_failure_rate"]["failed"] == 0
    second = report_build(week=W45)
    assert second.created and second.report.version == 2
    assert second.report.figures["figures"]["change_failure_rate"]["failed"] == 1
    assert WeeklyReport.objects.get(pk=first.report.pk).figures == frozen  # the old version is kept as it was
    again = report_build(week=W45)
    assert not again.created and again.report.pk == second.report.pk
    assert Release.objects.filter(failed=True).count() == 1


def test_what_failed_lists_failed_deployments_rollback_releases_and_fix_forwards_as_the_metrics_count_them() -> None:
    # A failed deployment (made by the CI bot), a rollback that a GitHub workflow deployed (no Trunkline rollback)
    # and a hotfix: the three are what the change failure rate, the recovery time and the rework rate count.
    h = History(owner="acme", name="api", full_name="acme/api")
    ana, ben, bot = DeveloperFactory(login="ana"), DeveloperFactory(login="ben"), DeveloperFactory(login="ci[bot]")
    payments, platform = team("payments", ana), team("platform", ben)
    h.merge(ana, opened=0, merged=30, first_commit=-10)
    h.tag("v1.0.0", 1, 35)
    h.deploy("production", 1, 40)
    h.merge(ana, opened=50, merged=60, first_commit=45)
    broken = h.deploy("production", 2, 70, state="failure")
    back = h.deploy("production", 1, 90)
    Deployment.objects.filter(pk=broken.pk).update(creator=bot)
    Deployment.objects.filter(pk=back.pk).update(is_rollback=True, description="Rollback to v1.0.0", creator=bot)
    hotfix = h.merge(ben, opened=100, merged=120, first_commit=95, head_ref="hotfix/checkout", title="Guard checkout")
    h.tag("v1.1.1", 3, 145)
    h.deploy("production", 3, 150)
    h.derive()

    document = snapshot(W45)

    failed = document["failed"]
    [failure] = failed["failures"]
    assert (failure["tag"], failure["why"], failure["recovery_seconds"]) == (
        broken.sha[:7],
        "the deployment failed",
        1200,
    )
    [undone] = failed["rollbacks"]
    assert (undone["via"], undone["target"], undone["reason"], undone["by"]) == (
        "deployment",
        "v1.0.0",
        "Rollback to v1.0.0",
        "ci[bot]",
    )
    assert [(r["tag"], r["recovery_seconds"]) for r in undone["recovered"]] == [(broken.sha[:7], 1200)]
    [fix] = failed["fixes"]
    assert (fix["tag"], fix["why"], fix["fixes"]) == ("v1.1.1", "a revert or hotfix", None)
    assert [(c["number"], c["branch"]) for c in fix["changes"]] == [(hotfix.number, "hotfix/checkout")]
    assert fix["recovered"] == []  # it recovered no failure the metrics count: it is rework only
    rollbacks_csv = list(csv.reader(io.StringIO(csv_text(document, "rollbacks"))))
    assert len(rollbacks_csv) == 2 and rollbacks_csv[1][:3] == ["deployment", "acme/api", "v1.0.0"]
    assert len(list(csv.reader(io.StringIO(csv_text(document, "fix-forwards"))))) == 2
    texts = [p["text"] for p in document["talking_points"]]
    assert texts[0].startswith("One rollback in api, on Monday morning: “Rollback to v1.0.0”")

    ours = snapshot(W45, team=payments)["failed"]  # ana's change was what the failed deployment carried
    assert [f["tag"] for f in ours["failures"]] == [broken.sha[:7]]
    assert [r["target"] for r in ours["rollbacks"]] == ["v1.0.0"]  # it recovered the team's failure
    assert [x["tag"] for x in ours["fixes"]] == ["v1.1.1"]  # v1.1.1 also brought ana's change
    theirs = snapshot(W45, team=platform)["failed"]
    assert (theirs["failures"], theirs["rollbacks"], [x["tag"] for x in theirs["fixes"]]) == ([], [], ["v1.1.1"])


def test_a_release_named_as_a_fix_is_a_fix_forward_with_the_reason_its_failed_release_was_given() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=30, first_commit=-10)
    h.merge(dev, opened=40, merged=70, first_commit=35)
    h.tag("v2.0.0", 1, 35)
    h.tag("v2.0.1", 2, 95)
    broken = h.deploy("production", 1, 40)
    h.derive()
    h.fail(broken, "Signed off: fix forward (ana)", 60)
    fix = h.deploy("production", 2, 100)
    h.derive()
    Release.objects.filter(deployment=fix).update(fix_for=h.release(broken))

    [row] = snapshot(W45)["failed"]["fixes"]

    assert (row["tag"], row["fixes"], row["why"], row["reason"]) == (
        "v2.0.1",
        "v2.0.0",
        "fixes an earlier release",
        "Signed off: fix forward (ana)",
    )
    assert [(r["tag"], r["recovery_seconds"]) for r in row["recovered"]] == [("v2.0.0", 40 * 60)]


def test_a_watch_that_read_degraded_and_recovered_still_counts_with_the_signals_it_read_degraded_then() -> None:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    h.merge(ana, opened=0, merged=60, first_commit=-120, reviews=((ben, 20),))
    h.merge(ben, opened=70, merged=200, first_commit=60, reviews=((ana, 20),))
    first, second = h.deploy("production", 1, 90), h.deploy("production", 2, DAY)
    h.derive()
    kept, open_one = h.release(first), h.release(second)
    latency = {"signal": "p95 latency", "judgement": "degraded", "reason": "780 ms since 09:02"}
    healthy = {"signal": "p95 latency", "judgement": "healthy", "reason": "195 ms now"}
    h.watch(kept, ben, ends=120, signed_off=125)  # signed off healthy, after it read degraded for a while
    MonitoringSession.objects.filter(release=kept).update(signed_off_verdict="healthy", signed_off_evidence=[healthy])
    WatchVerdict.objects.create(
        session=MonitoringSession.objects.get(release=kept),
        verdict="healthy",
        evidence=[healthy],
        first_degraded_at=at(95),
        last_degraded_at=at(100),
        degraded_evidence=[latency],
    )
    session = MonitoringSession.objects.create(
        release=open_one, owner=ana, window_starts_at=open_one.deployed_at, window_ends_at=at(DAY + 30)
    )
    WatchVerdict.objects.create(
        session=session,
        verdict="healthy",
        evidence=[healthy],
        first_degraded_at=at(DAY + 3),
        last_degraded_at=at(DAY + 5),
    )  # no evidence kept from the time (read before it was): the current evidence names no signal

    signals = snapshot(W45)["watch"]["signals"]

    assert signals["releases"] == 2
    assert [(r["tag"], r["signals"], r["degraded_since"]) for r in signals["rows"]] == [
        (kept.tag_name or kept.sha[:7], ["p95 latency"], when(at(95))),
        (open_one.tag_name or open_one.sha[:7], [], when(at(DAY + 3))),
    ]


def test_the_watch_section_says_which_releases_read_production_degraded_and_how_soon_they_rolled_back() -> None:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    h.merge(ana, opened=0, merged=60, first_commit=-120, reviews=((ben, 20),))
    h.merge(ben, opened=70, merged=200, first_commit=60, reviews=((ana, 20),))
    h.merge(ana, opened=210, merged=300, first_commit=200, reviews=((ben, 20),))
    good = h.deploy("production", 1, 90)
    slow = h.deploy("production", 2, DAY)
    bad = h.deploy("production", 3, 2 * DAY)
    h.derive()
    error_ratio = {"signal": "Error ratio", "judgement": "degraded", "reason": "8.0 % since 09:02"}
    latency = {"signal": "p95 latency", "judgement": "degraded", "reason": "780 ms since 09:02"}
    healthy = {"signal": "p95 latency", "judgement": "healthy", "reason": "195 ms now"}
    kept = h.release(slow)
    h.watch(kept, ben, ends=DAY + 30, signed_off=DAY + 40)
    MonitoringSession.objects.filter(release=kept).update(
        signed_off_verdict="degraded", signed_off_evidence=[error_ratio, latency], notes="known"
    )
    WatchVerdict.objects.create(
        session=MonitoringSession.objects.get(release=kept), verdict="degraded", degraded_since=at(DAY + 2)
    )
    undone = h.release(bad)
    session = MonitoringSession.objects.create(
        release=undone, owner=ana, window_starts_at=undone.deployed_at, window_ends_at=at(2 * DAY + 30)
    )
    WatchVerdict.objects.create(
        session=session, verdict="degraded", evidence=[error_ratio, healthy], degraded_since=at(2 * DAY + 3)
    )
    rollback(h, undone, h.release(good), reason="Errors", minutes=2 * DAY + 9)  # six minutes after it degraded
    h.watch(h.release(good), ana, ends=120, signed_off=125)  # healthy, not counted

    signals = snapshot(W45)["watch"]["signals"]

    assert signals["words"] == "2 releases degraded error ratio, 1 p95 latency; 1 rolled back within 6 min"
    assert signals["releases"] == 2 and signals["rolled_back"] == 1
    assert [(r["tag"], r["signals"], r["rolled_back_after_seconds"]) for r in signals["rows"]] == [
        (kept.tag_name or kept.sha[:7], ["Error ratio", "p95 latency"], None),
        (undone.tag_name or undone.sha[:7], ["Error ratio"], 360),
    ]
    texts = [p["text"] for p in snapshot(W45)["talking_points"]]
    assert "2 releases degraded error ratio, 1 p95 latency; 1 rolled back within 6 min." in texts
    report_build(week=W45)
    client = Client()
    client.force_login(member("viv", role="viewer"))
    page = client.get("/reports/2026-W45/").content.decode()
    assert "Production read degraded:</strong> 2 releases degraded error ratio, 1 p95 latency; 1 rolled back" in page
    assert "rolled back 6 min later" in page
    markdown = client.get("/reports/2026-W45/report.md").content.decode()
    assert "Production read degraded: 2 releases degraded error ratio" in markdown
