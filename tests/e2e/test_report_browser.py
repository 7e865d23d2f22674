"""A weekly report in a real browser: each repository of "What shipped" shows it opens (a marker that turns), and
printed it keeps a margin on the paper (the print stylesheet's @page)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from delivery.reports.services import report_build
from delivery.reports.weeks import IsoWeek
from tests.e2e.conftest import checked, page_problems, signed_in_context
from tests.factories import DeveloperFactory
from tests.metrics.history import History

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MARKER = "getComputedStyle(document.querySelector('.report-repo-details summary'), '::before').content"


def test_a_shipped_repository_shows_it_opens_and_the_printout_has_margins(
    live_server: Any, browser: Browser, live_settings: Any
) -> None:
    h = History(owner="acme", name="billing", full_name="acme/billing")
    h.merge(DeveloperFactory(login="ana"), opened=0, merged=30, first_commit=-10)
    h.deploy("production", 1, 40)
    h.derive()
    report_build(week=IsoWeek(2026, 45))
    context = checked(signed_in_context(browser, live_server, "lee", viewport={"width": 390, "height": 900}))
    page = context.new_page()

    page.goto(f"{live_server.url}/reports/2026-W45/")

    closed = page.evaluate(MARKER)
    assert closed not in ("none", "normal", '""')
    page.locator(".report-repo-details summary").first.click()
    assert page.evaluate(MARKER) not in ("none", "normal", '""', closed)  # it turns once open
    assert page_problems(page, focus=False) == []
    margins = page.evaluate(
        """[...document.styleSheets].flatMap(s => [...s.cssRules]).filter(r => r.type === CSSRule.MEDIA_RULE)
           .flatMap(m => [...m.cssRules]).concat([...document.styleSheets].flatMap(s => [...s.cssRules]))
           .filter(r => r.type === CSSRule.PAGE_RULE).map(r => r.style.margin)"""
    )
    assert margins == ["12mm"]
    assert page.pdf(format="A4")[:4] == b"%PDF"


def test_a_new_token_shows_whole_in_its_field(live_server: Any, browser: Browser, live_settings: Any) -> None:
    context = checked(signed_in_context(browser, live_server, "tess", viewport={"width": 390, "height": 900}))
    page = context.new_page()
    page.goto(f"{live_server.url}/me/")
    page.get_by_role("link", name="API tokens").click()
    page.fill("#id_name", "Grafana")
    page.fill("#id_days", "30")
    page.get_by_role("button", name="Make token").click()

    field = page.evaluate(
        """(() => { const e = document.querySelector('#token-value'), s = getComputedStyle(e);
           return {inner: e.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom),
                   font: parseFloat(s.fontSize), value: e.value}; })()"""
    )
    assert field["value"].startswith("tl_")
    assert field["inner"] >= 1.4 * field["font"]  # room for the descender of "_" (the line is not cut)
    assert page_problems(page, focus=False) == []
