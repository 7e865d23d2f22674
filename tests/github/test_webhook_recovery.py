"""GitHub's side: installing the organization webhook, and getting back what GitHub failed to deliver."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from delivery.github.client import GitHubClient
from delivery.github.models import WebhookDelivery
from delivery.github.webhook_handlers import WEBHOOK_EVENTS
from delivery.github.webhooks import failed_deliveries_recover
from delivery.simulator.server import SimulatorServer
from tests.conftest import live_ticks, wait_for


def _install(url: str) -> str:
    out = StringIO()
    call_command("github_webhooks", "install", "--url", url, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_install_creates_the_organization_webhook_then_keeps_it_up_to_date(github: SimulatorServer) -> None:
    url = "https://trunkline.example.com/webhooks/github/"
    first = _install(url)
    hooks = list(github.world.org.hooks.values())
    assert len(hooks) == 1
    hook = hooks[0]
    assert f"Created the webhook #{hook.id} of acme → {url}" in first
    assert hook.config["url"] == url and hook.config["secret"] == "test-webhook-secret"
    assert hook.config["content_type"] == "json"
    assert sorted(hook.events) == WEBHOOK_EVENTS and hook.active

    hook.events = ["push"]  # someone narrowed it by hand on GitHub
    second = _install(url)
    assert f"Updated the webhook #{hook.id}" in second
    assert len(github.world.org.hooks) == 1
    assert sorted(hook.events) == WEBHOOK_EVENTS
    assert "Checked (already up to date)" in _install(url)

    moved = "https://trunkline.internal.example.com/webhooks/github/"
    third = _install(moved)  # Trunkline moved: the same hook follows it, no dead hook is left behind
    assert f"Updated the webhook #{hook.id}" in third and f"It pointed at {url} before." in third
    assert len(github.world.org.hooks) == 1 and hook.config["url"] == moved


@pytest.mark.django_db
def test_webhook_commands_say_when_credentials_are_missing(github: SimulatorServer, settings: Any) -> None:
    settings.GITHUB_TOKEN = ""
    with pytest.raises(CommandError, match="No GitHub credentials"):
        _install("https://trunkline.example.com/webhooks/github/")


@pytest.mark.django_db
def test_install_says_what_is_missing(github: SimulatorServer, settings: Any) -> None:
    settings.GITHUB_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="GITHUB_WEBHOOK_SECRET"):
        _install("https://trunkline.example.com/webhooks/github/")
    settings.GITHUB_WEBHOOK_SECRET = "s"
    settings.TRUNKLINE_PUBLIC_URL = ""
    with pytest.raises(CommandError, match="TRUNKLINE_PUBLIC_URL"):
        call_command("github_webhooks", "install", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_deliveries_github_failed_to_make_are_redelivered_once_trunkline_is_back(
    github: SimulatorServer, live_server: Any, settings: Any, gh_client: GitHubClient
) -> None:
    settings.TRUNKLINE_PUBLIC_URL = live_server.url
    settings.GITHUB_ORG = github.world.org_login
    _install(f"{live_server.url}/webhooks/github/")
    github.webhooks.flush()
    world = github.world
    world.frozen_clock = world.clock()

    # Trunkline is unreachable for a while: every delivery of that time fails on GitHub's side.
    github.webhooks.faults.add(kind="drop", count=1000)
    live_ticks(world, 3)
    github.webhooks.flush(timeout=30)
    github.webhooks.faults.clear()
    hook_id = next(iter(world.org.hooks))
    log = [d for page in gh_client.iter_pages(f"/orgs/acme/hooks/{hook_id}/deliveries") for d in page.items]
    lost = {d["guid"] for d in log if d["status_code"] == 0}
    assert lost, "the ticks produced no deliveries"
    assert not WebhookDelivery.objects.filter(guid__in=lost).exists()

    recovery = failed_deliveries_recover(client=gh_client, org="acme")
    assert recovery.redelivered == len(lost)
    github.webhooks.flush(timeout=30)
    wait_for(lambda: WebhookDelivery.objects.filter(guid__in=lost).count() == len(lost), what="redeliveries stored")

    # Everything is back: the next check asks for nothing.
    assert failed_deliveries_recover(client=gh_client, org="acme").redelivered == 0


@pytest.mark.django_db
def test_recover_needs_an_installed_webhook(github: SimulatorServer, settings: Any) -> None:
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example.com"
    with pytest.raises(CommandError, match="github_webhooks install"):
        call_command("github_webhooks", "recover", stdout=StringIO())
