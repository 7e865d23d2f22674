"""The test settings: the product's settings, plus the address of the GitHub simulator that signs people in.

allauth's GitHub provider reads its GitHub URL once, when its module is imported, so `override_settings` in a
test cannot move it: the sign-in simulator listens on a fixed port, one per pytest-xdist worker, known here
before Django starts (tests/conftest.py starts it there)."""

import os

from delivery.settings import *  # noqa: F403
from delivery.settings import SOCIALACCOUNT_PROVIDERS

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")  # gw0, gw1, ...; none without xdist
OAUTH_SIMULATOR_PORT = int(os.environ.get("TEST_OAUTH_PORT_BASE", "18600")) + 1 + int(_worker.removeprefix("gw"))
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
