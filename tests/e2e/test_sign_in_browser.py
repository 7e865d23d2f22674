"""End to end, in a real browser: sign in through the simulator's GitHub OAuth page, land on my queue."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser

from delivery.accounts.models import Developer
from delivery.pipeline.models import Change, Stage
from delivery.simulator.server import SimulatorServer
from tests.e2e.conftest import screenshot
from tests.factories import PullRequestFactory, RepositoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_signs_in_with_github_and_lands_on_their_queue(
    live_server: Any, browser: Browser, live_settings: Any, oauth_github: SimulatorServer
) -> None:
    live_settings.GITHUB_ORG = oauth_github.world.org_login
    person = sorted(oauth_github.world.members, key=lambda u: u.login)[0]
    me = Developer.objects.create(github_id=person.id, login=person.login)  # as the sync would have seen them
    pr = PullRequestFactory(repository=RepositoryFactory(name="api"), author=me, title="Retry failed webhooks")
    Change.objects.create(repository=pr.repository, pull_request=pr, author=me, title=pr.title, stage=Stage.IN_REVIEW)

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url  # every page needs sign-in
    page.get_by_role("button", name="Sign in with GitHub").click()

    page.wait_for_url(f"{oauth_github.url}/login/oauth/authorize?**")  # GitHub's (the simulator's) page
    page.get_by_role("link", name=person.login, exact=True).click()

    page.wait_for_url(f"{live_server.url}/me/")
    assert page.get_by_role("heading", name="My queue").is_visible()
    assert page.get_by_text("Retry failed webhooks").is_visible()
    assert page.locator(".whoami").inner_text().startswith(person.login)
    screenshot(page, "my-queue-after-sign-in.png")

    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server.url + "/me/")
    assert "/accounts/login/" in page.url
    context.close()
