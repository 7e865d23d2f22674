"""The ClickUp stand-in (tools/clickup_server.py) on a free port, and Trunkline's settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tools.clickup_server import DEFAULT_TEAM_ID, DEFAULT_TOKEN, ClickUpServer


@pytest.fixture
def clickup_server() -> Iterator[ClickUpServer]:
    with ClickUpServer() as server:
        yield server


@pytest.fixture
def clickup(clickup_server: ClickUpServer, settings: Any) -> ClickUpServer:
    """ClickUp configured, at the stand-in."""
    settings.CLICKUP_TOKEN = DEFAULT_TOKEN
    settings.CLICKUP_TEAM_ID = DEFAULT_TEAM_ID
    settings.CLICKUP_API_URL = clickup_server.url
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    settings.CLICKUP_TIMEOUT_SECONDS = 3.0
    return clickup_server
