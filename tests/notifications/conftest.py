"""The Slack stand-in (a real HTTP server on 127.0.0.1) and the settings that point Trunkline at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tools.slack_server import SlackServer


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_slack(settings: Any) -> None:
    """Tests start without Slack (whatever the environment says) and with quick retries."""
    settings.SLACK_BOT_TOKEN = ""
    settings.SLACK_WEBHOOK_URL = ""
    settings.SLACK_API_URL = ""
    settings.SLACK_DEFAULT_CHANNEL = "#deploys"
    settings.SLACK_TIMEOUT_SECONDS = 5
    settings.SLACK_RETRY_BACKOFF_SECONDS = 10
    settings.SLACK_RETRY_MAX_SECONDS = 900
    settings.SLACK_MAX_ATTEMPTS = 5


@pytest.fixture
def slack_api(slack_server: SlackServer, settings: Any) -> SlackServer:
    """Trunkline posts through the Web API (a bot token), to the stand-in."""
    settings.SLACK_BOT_TOKEN = slack_server.token
    settings.SLACK_API_URL = slack_server.api_url
    return slack_server


@pytest.fixture
def slack_webhook(slack_server: SlackServer, settings: Any) -> SlackServer:
    """Trunkline posts through an incoming webhook, to the stand-in."""
    settings.SLACK_WEBHOOK_URL = slack_server.webhook_url
    return slack_server


@pytest.fixture(params=["web_api", "webhook"])
def slack(request: Any, slack_server: SlackServer) -> SlackServer:
    """Each transport in turn."""
    return request.getfixturevalue("slack_api" if request.param == "web_api" else "slack_webhook")
