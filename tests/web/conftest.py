"""The ClickUp stand-in for the pages of web/."""

from tests.clickup.conftest import clickup, clickup_server  # noqa: F401 - fixtures
