"""The Repositories page: on a phone (390 px) "Sync now" is there for each repository (the actions column is hidden
at that width), and the repository names read as links (the link colour and an underline), at both widths."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.conftest import member
from tests.e2e.conftest import checked, context_for, page_problems
from tests.factories import RepositoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1366])
def test_each_repository_can_be_synced_and_its_name_reads_as_a_link(
    live_server: Any, browser: Browser, live_settings: Any, width: int
) -> None:
    for name in ("api", "web-storefront"):
        RepositoryFactory(name=name, full_name=f"acme/{name}")
    context = checked(
        context_for(browser, live_server, member("dana", role="developer"), viewport={"width": width, "height": 844})
    )
    page = context.new_page()
    page.goto(live_server.url + "/repositories/")
    button = page.get_by_role("button", name="Sync now: acme/api")
    assert button.is_visible()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    link = page.get_by_role("link", name="acme/api")
    style = link.evaluate(
        "a => { const s = getComputedStyle(a); const p = getComputedStyle(a.closest('td'));"
        " return [s.color, p.color, s.textDecorationLine]; }"
    )
    assert style[0] != style[1], "a link's colour, not the text's"
    assert "underline" in style[2]
    with page.expect_response(lambda r: r.url.endswith("/sync/") and r.request.method == "POST") as answer:
        button.click()  # the page reloads after this: its styles are read before (a reloading page has none)
    assert answer.value.status in (204, 302), answer.value.status
    page.wait_for_load_state("load")
    problems = page_problems(page, focus=False)
    assert not problems, problems
    context.close()
