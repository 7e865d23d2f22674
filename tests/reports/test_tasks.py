"""The weekly report's ClickUp tasks (issue 18): the tasks the week's delivered changes name, counted once each,
verified once a watch of their change was signed off "keep"; the changes merged without a task where one is required;
each shipped change with its tasks; in the page, the Markdown and the CSV."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.pipeline.models import Change, TaskLink
from delivery.reports.exports import csv_text, markdown
from delivery.reports.services import report_build
from delivery.reports.snapshot import snapshot
from delivery.reports.weeks import IsoWeek
from tests.conftest import member
from tests.factories import DeveloperFactory
from tests.metrics.history import HOUR, History

pytestmark = pytest.mark.django_db
W45 = IsoWeek(2026, 45)


def _week(settings: Any) -> dict[str, Any]:
    """Monday: ana's PRJ-7 change, ben's untasked one and ben's PRJ-8 one ship together; ana kept her watch, ben's is
    not signed off; the repository requires a task."""
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    h = History(owner="acme", name="billing", full_name="acme/billing")
    h.repo.clickup_task_required = True
    h.repo.save()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    tasked = h.merge(ana, opened=0, merged=60, first_commit=-120, title="PRJ-7 order export")
    h.merge(ben, opened=10, merged=70, first_commit=0, title="Tidy the logs")
    third = h.merge(ben, opened=80, merged=2 * HOUR, first_commit=75, title="PRJ-8 refunds")
    deployment = h.deploy("production", 3, 3 * HOUR)
    h.derive()
    link = {"custom": True, "url": "https://app.clickup.com/t/9/PRJ-7", "status": "review"}
    TaskLink.objects.create(
        change=Change.objects.get(pull_request=tasked), clickup_task_id="PRJ-7", name="Order export", **link
    )
    TaskLink.objects.create(
        change=Change.objects.get(pull_request=third), clickup_task_id="PRJ-8", name="Refunds", custom=True
    )
    release = h.release(deployment)
    h.watch(release, ana, ends=3 * HOUR + 30, signed_off=4 * HOUR)
    return {"h": h, "release": release}


def test_the_report_counts_tasks_delivered_and_verified_and_lists_changes_without_one(settings: Any) -> None:
    made = _week(settings)
    tasks = snapshot(W45)["tasks"]
    assert (tasks["delivered"], tasks["verified"], tasks["required"]) == (2, 1, True)
    by_label = {row["label"]: row for row in tasks["rows"]}
    assert by_label["PRJ-7"]["verified"] and not by_label["PRJ-8"]["verified"]
    assert by_label["PRJ-7"]["url"] == "https://app.clickup.com/t/9/PRJ-7"
    assert [c["title"] for c in tasks["without_task"]] == ["Tidy the logs"] and tasks["without_task_count"] == 1
    shipped = snapshot(W45)["shipped"]["repositories"][0]["releases"][0]["changes"]
    assert [[t["label"] for t in c["tasks"]] for c in shipped] == [["PRJ-7"], [], ["PRJ-8"]]
    assert made["release"].pk


def test_where_no_repository_requires_a_task_none_is_listed_as_missing(settings: Any) -> None:
    made = _week(settings)
    made["h"].repo.clickup_task_required = False
    made["h"].repo.save()
    made["h"].derive()
    tasks = snapshot(W45)["tasks"]
    assert (tasks["required"], tasks["without_task"]) == (False, [])


def test_the_page_the_markdown_and_the_csv_show_them(settings: Any) -> None:
    _week(settings)
    report = report_build(week=W45).report
    browser = Client()
    browser.force_login(member("viewer"))
    page = browser.get(reverse("report", args=[W45.label])).content.decode()
    assert "ClickUp tasks" in page and "2 delivered · 1 verified in production" in page
    assert 'href="https://app.clickup.com/t/9/PRJ-7"' in page and "Merged without a task: 1" in page
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example.com"  # Trunkline's pages by the public address
    text = markdown(report.figures, title="Weekly report")
    assert "## ClickUp tasks" in text and "[PRJ-7](https://app.clickup.com/t/9/PRJ-7) Order export (verified)" in text
    assert "](https://trunkline.example.com/changes/" in text and "example.comhttps" not in text
    rows = csv_text(report.figures, "tasks").splitlines()
    assert rows[0] == "task,name,status,verified,pull_requests,url"
    assert any(row.startswith("PRJ-7,Order export,review,True") for row in rows)


def test_a_report_stored_before_the_tasks_is_shown_without_them(settings: Any) -> None:
    _week(settings)
    report = report_build(week=W45).report
    del report.figures["tasks"]
    report.save()
    browser = Client()
    browser.force_login(member("viewer"))
    page = browser.get(reverse("report", args=[W45.label]))
    assert page.status_code == 200 and 'id="tasks-title"' not in page.content.decode()
    assert "## ClickUp tasks" not in markdown(report.figures, title="Weekly report")
    assert csv_text(report.figures, "tasks").splitlines() == ["task,name,status,verified,pull_requests,url"]
