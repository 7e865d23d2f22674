"""The weekly report arrives by itself: built once it is due (REPORT_WEEKDAY, REPORT_HOUR in TIME_ZONE) for the
organization and each team, its Slack summary told once however often the task runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command

from delivery.flows.reports import weekly_reports_due
from delivery.notifications.models import Notification
from delivery.notifications.service import notification_send
from delivery.reports.models import WeeklyReport
from tests.factories import DeveloperFactory
from tests.metrics.history import History
from tests.reports.helpers import team
from tools.slack_server import SlackServer

pytestmark = pytest.mark.django_db
MONDAY_9_NOV_0800_UTC = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)


def week_45() -> None:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    ana = DeveloperFactory(login="ana")
    team("payments", ana)
    team("web")
    h.merge(ana, opened=0, merged=30, first_commit=-10)
    h.deploy("production", 1, 40)
    h.derive()


def send_all() -> None:
    for pk in Notification.objects.values_list("pk", flat=True):
        notification_send(notification_id=pk)


def test_the_summary_is_posted_once_when_the_task_runs_twice(slack_api: SlackServer, settings: Any) -> None:
    settings.SLACK_REPORT_CHANNEL = "#retro"
    settings.SLACK_TEAM_REPORT_CHANNELS = {"payments": "#payments"}
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example"
    week_45()

    first = weekly_reports_due(now=MONDAY_9_NOV_0800_UTC)
    second = weekly_reports_due(now=MONDAY_9_NOV_0800_UTC)
    send_all()
    send_all()

    assert [b.report.team_slug for b in first] == ["", "payments", "web"] and second == []
    assert WeeklyReport.objects.count() == 3
    assert WeeklyReport.objects.filter(posted_to_slack_at__isnull=False).count() == 2  # web has no channel
    messages = slack_api.messages
    assert len(messages) == 2 and {m.channel for m in messages} == {"#retro", "#payments"}
    text = next(m.text for m in messages if "the organization" in m.text)
    assert text.startswith(":bar_chart: *Weekly report 2026-W45* (the organization): deployments 1.0 a week")
    assert "• One release brought 1 change to production in 1 repository" in text
    assert "<https://trunkline.example/reports/2026-W45/|The report>" in text
    # The command with --post, later: the same week and team is not told again.
    call_command("weekly_report", "--week", "2026-W45", "--post", "--format", "json")
    send_all()
    assert len(slack_api.messages) == 2


def test_nothing_is_built_before_it_is_due_in_the_organizations_time_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    settings.REPORT_HOUR = 7
    week_45()

    assert weekly_reports_due(now=datetime(2026, 11, 8, 21, 0, tzinfo=UTC)) == []  # Monday 06:00 in Tokyo
    built = weekly_reports_due(now=datetime(2026, 11, 8, 22, 0, tzinfo=UTC))  # Monday 07:00 in Tokyo, Sunday in UTC
    assert {(b.report.iso_year, b.report.iso_week) for b in built} == {(2026, 45)}


def test_the_command_prints_markdown_or_json(capsys: Any) -> None:
    week_45()
    call_command("weekly_report", "--week", "2026-W45", "--team", "payments")
    out = capsys.readouterr().out
    assert out.startswith("# Week 2026-W45 — team Payments\n")
    call_command("weekly_report", "--week", "2026-W45", "--format", "json")
    assert '"week": "2026-W45"' in capsys.readouterr().out
    assert WeeklyReport.objects.count() == 2
