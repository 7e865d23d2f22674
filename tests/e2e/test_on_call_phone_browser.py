"""On call, on a phone (390 px): "Roll back…" on a card far down the page opens the confirmation where the person
is (scrolled into view, focus on its heading), the confirmation fits the screen with its fields inside the card,
Cancel closes it and gives focus back to the button — and no step needs inline script."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser

from delivery.flows.watches import watches_open
from tests.conftest import member
from tests.e2e.conftest import checked, context_for, page_problems, screenshot
from tests.factories import RepositoryFactory
from tests.rollbacks.helpers import release

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_roll_back_on_a_lower_card_opens_the_confirmation_in_view_and_it_fits_the_phone(
    live_server: Any, browser: Browser, live_settings: Any
) -> None:
    owner = member("olga").developer
    now = timezone.now()
    names = ["api", "billing", "checkout", "search", "web-storefront-and-customer-accounts"]
    for name in names:  # five repositories, each with a known good release and one being watched
        repository = RepositoryFactory(name=name, full_name=f"acme/{name}")
        release(repository, "v2.3.9", at=now - timedelta(days=2), owners=[owner])
        release(repository, "v2.4.0", at=now - timedelta(minutes=8), owners=[owner], changes=3)
        watches_open(repository_id=repository.pk)
    on_call = member("ona", role="on-call")

    context = checked(context_for(browser, live_server, on_call, viewport=PHONE))
    page = context.new_page()
    page.goto(live_server.url + "/on-call/")
    card = page.locator(".on-call-card", has=page.get_by_role("heading", name=names[-1]))
    button = card.get_by_role("button", name="Roll back…")
    button.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 1000, "the last card is far below the panel's place at the top"
    button.click()

    heading = page.get_by_role("heading", name=f"Confirm the rollback of acme/{names[-1]}")
    heading.wait_for()
    box = heading.bounding_box()
    assert box is not None and 0 <= box["y"] < PHONE["height"] - box["height"], box  # on screen, not above it
    assert page.evaluate("document.activeElement.id") == "rollback-title"
    confirmation = page.locator("#rollback-form")
    frame = confirmation.bounding_box()
    assert frame is not None and frame["x"] >= 0 and frame["x"] + frame["width"] <= PHONE["width"], frame
    for field in (page.get_by_label("Release to deploy"), page.get_by_label("Reason (required)")):
        inner = field.bounding_box()
        assert (
            inner is not None
            and inner["x"] >= frame["x"]
            and inner["x"] + inner["width"] <= frame["x"] + frame["width"]
        ), (inner, frame)
    # The chosen target's words fit its select (not "· last know…"), and the facts read "v2.3.9, live from …" with
    # no space before the comma.
    fits = page.get_by_label("Release to deploy").evaluate(
        "s => { const c = document.createElement('canvas').getContext('2d'); const st = getComputedStyle(s);"
        " c.font = st.font; const text = s.options[s.selectedIndex].text;"
        " const room = s.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 16;"
        " return [text, c.measureText(text).width, room]; }"
    )
    assert fits[1] <= fits[2], fits
    facts = confirmation.locator("dl").inner_text()
    assert " ," not in facts and "v2.3.9, live from" in facts, facts
    problems = page_problems(page, focus=False)
    assert not problems, problems
    screenshot(page, "on-call-phone-rollback-panel.png")

    confirmation.get_by_role("link", name="Cancel").click()
    assert page.locator("#rollback-panel").inner_html().strip() == ""
    assert page.url == live_server.url + "/on-call/"  # stayed: the panel closed in place
    focused = page.evaluate("document.activeElement.closest('.on-call-card')?.querySelector('h2')?.textContent")
    assert focused is not None and focused.strip() == names[-1]  # back on the button that opened it
    assert page.evaluate("window.__cspViolations") == []
    context.close()
