"""The test settings: the product's settings, moved to this test process's own folder, Redis database and sign-in
port, plus the address of the GitHub simulator that signs people in.

Under pytest-xdist (`make test` runs `-n auto`) every test process (PYTEST_XDIST_WORKER gw0, gw1, ...) gets its own
TRUNKLINE_VAR_DIR (var/test/gw0/: the SQLite test database, the filesystem broker's folders, the beat schedule,
the collected static files, the logs of the processes its tests start), and with REDIS_URL its own Redis database
(REDIS_URL's number plus the worker's: /8 gives gw0 database 8, gw1 database 9). PostgreSQL test databases are
pytest-django's own (test_<name>_gw0, ...). These are set in the environment before the product's settings read
it, so the Celery workers, gunicorn and management commands a test starts (which load these settings again, with
the environment they inherit) use the same folder, database and broker as the test. A single process (`-n 0`)
keeps var/test and REDIS_URL as they are.

allauth's GitHub provider reads its GitHub URL once, when its module is imported, so `override_settings` in a
test cannot move it: the port of the sign-in simulator is chosen here, before Django starts, and
tests/conftest.py starts the simulator on it. A free port of this process's own, held (bound, not listening) until
the simulator takes it so that no other server or connection on the machine takes it meanwhile; or
TEST_OAUTH_PORT_BASE + 1 + the pytest-xdist worker's number when that is set."""

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...; empty in a single test process


def _redis_url_of_worker(url: str, index: int, count: int) -> str:
    """REDIS_URL moved `index` databases up (redis://host:6379/8 is database 9 for gw1), checked for all `count`
    test processes of the run, so that every one of them refuses the same way rather than one sharing another's."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    if base + count - 1 > 15:  # Redis's default 16 databases
        raise ImproperlyConfigured(
            f"REDIS_URL's database {base} and {count} test processes need databases {base} to {base + count - 1}; "
            f"Redis has 0 to 15: give REDIS_URL a lower database or run {16 - base} processes at most "
            f"(make test TEST_PROCESSES={16 - base})."
        )
    return urlunsplit(parts._replace(path=f"/{base + index}"))


def _isolate_worker(worker: str) -> None:
    """This test process's own folder and Redis database, in the environment (which the processes its tests start
    inherit). Once per test process: a process started by a test loads these settings again and finds them done."""
    if not worker or os.environ.get("TRUNKLINE_TEST_WORKER") == worker:
        return
    os.environ["TRUNKLINE_TEST_WORKER"] = worker
    var_dir = Path(os.environ.get("TRUNKLINE_VAR_DIR", "var/test")).resolve() / worker
    os.environ["TRUNKLINE_VAR_DIR"] = str(var_dir)
    os.environ["STATIC_ROOT"] = str(var_dir / "staticfiles")
    if os.environ.get("REDIS_URL"):
        index = int(worker.removeprefix("gw"))
        count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", index + 1))
        os.environ["REDIS_URL"] = _redis_url_of_worker(os.environ["REDIS_URL"], index, count)


_isolate_worker(XDIST_WORKER)

from delivery.settings import *  # noqa: E402, F403
from delivery.settings import SOCIALACCOUNT_PROVIDERS  # noqa: E402

# The free port the sign-in simulator will take, bound until then (oauth_port_release); None for a fixed port.
oauth_port_reservation: socket.socket | None = None


def _oauth_port() -> int:
    global oauth_port_reservation
    base = os.environ.get("TEST_OAUTH_PORT_BASE")
    if base:
        return int(base) + 1 + int((XDIST_WORKER or "gw-1").removeprefix("gw"))
    oauth_port_reservation = socket.socket()
    oauth_port_reservation.bind(("127.0.0.1", 0))
    return int(oauth_port_reservation.getsockname()[1])


def oauth_port_release() -> None:
    """Hand the reserved port to the sign-in simulator, which binds it next."""
    global oauth_port_reservation
    if oauth_port_reservation is not None:
        oauth_port_reservation.close()
        oauth_port_reservation = None


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

# The figures' definitions are what the tests pin: computed every time, unless a test turns the cache on
# (tests/metrics/test_cached.py).
METRICS_CACHE_SECONDS = 0
