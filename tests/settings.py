"""The test settings: the product's settings, plus the address of the GitHub simulator that signs people in.

allauth's GitHub provider reads its GitHub URL once, when its module is imported, so `override_settings` in a
test cannot move it: the port of the sign-in simulator is chosen here, before Django starts, and
tests/conftest.py starts the simulator on it. A free port of this process's own (so two test runs on one machine
do not collide), or TEST_OAUTH_PORT_BASE + 1 + the pytest-xdist worker's number when that is set."""

import os
import socket

from delivery.settings import *  # noqa: F403
from delivery.settings import SOCIALACCOUNT_PROVIDERS


def _oauth_port() -> int:
    base = os.environ.get("TEST_OAUTH_PORT_BASE")
    if base:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")  # gw0, gw1, ...; none without xdist
        return int(base) + 1 + int(worker.removeprefix("gw"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


OAUTH_SIMULATOR_PORT = _oauth_port()
OAUTH_SIMULATOR_URL = f"http://127.0.0.1:{OAUTH_SIMULATOR_PORT}"

GITHUB_OAUTH_CLIENT_ID = "trunkline-test"
GITHUB_OAUTH_CLIENT_SECRET = "trunkline-test-secret"  # the simulator's, in tests only
SOCIALACCOUNT_PROVIDERS = {
    **SOCIALACCOUNT_PROVIDERS,
    "github": {
        **SOCIALACCOUNT_PROVIDERS["github"],
        "APP": {"client_id": GITHUB_OAUTH_CLIENT_ID, "secret": GITHUB_OAUTH_CLIENT_SECRET, "key": ""},
        "GITHUB_URL": OAUTH_SIMULATOR_URL,
    },
}
