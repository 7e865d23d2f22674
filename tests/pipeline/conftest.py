"""Fixtures the pipeline tests share: the ClickUp stand-in."""

from tests.clickup.conftest import clickup, clickup_server  # noqa: F401 - fixtures
