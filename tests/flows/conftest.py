"""The Slack stand-in and its settings, as the notifications tests have them; the ClickUp stand-in."""

from tests.clickup.conftest import clickup, clickup_server  # noqa: F401 - fixtures
from tests.notifications.conftest import _no_slack, slack_api, slack_server  # noqa: F401 - fixtures
