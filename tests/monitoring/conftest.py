"""Alertmanager's webhook credentials, and Slack as the notifications tests have it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.monitoring.alerting import TOKEN
from tests.notifications.conftest import _no_slack, slack_api, slack_server  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _alertmanager_token(settings: Any) -> None:
    """The endpoint takes the tests' bearer token, and no basic-auth pair, unless a test says otherwise."""
    settings.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN
    settings.ALERTMANAGER_WEBHOOK_USERNAME = ""
    settings.ALERTMANAGER_WEBHOOK_PASSWORD = ""
