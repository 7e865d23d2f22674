"""End to end, in a real browser: on-call signs in with GitHub, presses Roll back on the on-call page, confirms
with a reason, and watches the rollback succeed. Everything real: the simulator runs the dispatched workflow and
sends signed webhooks to the live server; a Celery worker executes the rollback and processes the webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Browser

from delivery.flows.changes import repository_changed
from delivery.github.models import Repository
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.simulator.server import SimulatorServer
from tests.conftest import simulator_client, sync_all
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def simulator(world: Any, live_server: Any) -> Iterator[SimulatorServer]:
    """The GitHub the worker talks to, delivering its webhooks to the live server."""
    world.dispatch_step_seconds = 0.5
    server = SimulatorServer(
        world,
        host="127.0.0.1",
        port=0,
        webhook_url=f"{live_server.url}/webhooks/github/",
        webhook_secret=django_settings.GITHUB_WEBHOOK_SECRET,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_on_call_rolls_back_from_the_on_call_page(
    live_server: Any,
    browser: Browser,
    live_settings: Any,
    github: SimulatorServer,
    celery_worker: Any,
    oauth_github: SimulatorServer,
) -> None:
    client = simulator_client(github)
    sync_all(client, github.world.org_login)
    client.close()
    for pk in Repository.objects.values_list("pk", flat=True):
        repository_changed(repository_id=pk)
    live_settings.GITHUB_ORG = oauth_github.world.org_login  # who may sign in
    live_settings.TRUNKLINE_DEFAULT_ROLE = "on-call"
    person = sorted(oauth_github.world.members, key=lambda u: u.login)[0]

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + "/on-call/")
    page.get_by_role("button", name="Sign in with GitHub").click()
    page.get_by_role("link", name=person.login, exact=True).click()
    page.wait_for_url(f"{live_server.url}/on-call/")

    card = page.locator(".on-call-card").filter(has=page.get_by_role("button", name="Roll back…")).first
    repository = card.locator("h2").inner_text()
    card.get_by_role("button", name="Roll back…").click()
    page.get_by_role("heading", name="Confirm the rollback").wait_for()  # the confirmation (a GET form: no JS)
    assert page.get_by_text("Live now").is_visible()
    page.get_by_label("Reason (required)").fill("Checkout errors since the deploy")
    page.get_by_role("button", name="Roll back to").click()

    page.wait_for_url("**/rollbacks/*/")
    page.locator("#rollback-state .badge", has_text="Succeeded").wait_for(timeout=60_000)
    rollback = Rollback.objects.get()
    assert rollback.repository.name == repository and rollback.reason == "Checkout errors since the deploy"
    assert rollback.requested_by.username == person.login
    assert Release.objects.get(pk=rollback.from_release_id).state == Release.State.ROLLED_BACK
    screenshot(page, "rollback-succeeded.png")
    context.close()
