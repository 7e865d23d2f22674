"""Each pytest-xdist test process has its own folder, broker, Redis database and static files (tests/settings.py),
and the processes its tests start (Celery workers, gunicorn) load the same ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import ROOT
from tests.settings import _redis_url_of_worker

PROBE = """
import json, os
from django.conf import settings
settings.VAR_DIR  # loads them, moving the environment
print(json.dumps({
    "environment": {
        k: os.environ.get(k) for k in ("TRUNKLINE_TEST_WORKER", "TRUNKLINE_VAR_DIR", "STATIC_ROOT", "REDIS_URL")
    },
    "VAR_DIR": str(settings.VAR_DIR),
    "STATIC_ROOT": str(settings.STATIC_ROOT),
    "broker": settings.CELERY_BROKER_URL,
    "broker_folders": sorted(
        str(v) for k, v in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items() if "folder" in k
    ),
    "cache": settings.CACHES["default"].get("LOCATION", ""),
    "sqlite_test_database": settings.DATABASES["default"].get("TEST", {}).get("NAME", ""),
    "beat_schedule": settings.CELERY_BEAT_SCHEDULE_FILENAME,
}))
"""


def _settings_seen(env: dict[str, str]) -> dict[str, Any]:
    """The test settings as a process started with `env` loads them (as worker_start starts a Celery worker)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _environment(tmp_path: Path, worker: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRUNKLINE_TEST_WORKER", "STATIC_ROOT", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTEST_XDIST_WORKER=worker,
        PYTEST_XDIST_WORKER_COUNT="2",
        TRUNKLINE_VAR_DIR=str(tmp_path / "var"),
        TEST_OAUTH_PORT_BASE="",
        **more,
    )
    return env


@pytest.mark.parametrize("redis", ["", "redis://127.0.0.1:6379/8"])
def test_two_test_processes_share_no_folder_broker_or_redis_database(tmp_path: Path, redis: str) -> None:
    gw0, gw1 = (_settings_seen(_environment(tmp_path, worker, REDIS_URL=redis)) for worker in ("gw0", "gw1"))
    var = tmp_path / "var"
    for worker, seen in (("gw0", gw0), ("gw1", gw1)):
        assert seen["VAR_DIR"] == str(var / worker) and seen["STATIC_ROOT"] == str(var / worker / "staticfiles")
        assert seen["beat_schedule"].startswith(f"{var / worker}/")
        if redis:
            assert seen["broker"] == seen["cache"]
        else:
            assert seen["broker_folders"] and all(f.startswith(f"{var / worker}/") for f in seen["broker_folders"])
            assert seen["sqlite_test_database"].startswith(f"{var / worker}/")
    if redis:
        assert (gw0["broker"], gw1["broker"]) == ("redis://127.0.0.1:6379/8", "redis://127.0.0.1:6379/9")


def test_a_process_a_test_starts_keeps_its_test_process_s_folder_and_redis_database(tmp_path: Path) -> None:
    """A Celery worker inherits the environment the test settings moved, and loads them again: not moved twice."""
    first = _environment(tmp_path, "gw1", REDIS_URL="redis://127.0.0.1:6379/8")
    seen = _settings_seen(first)
    assert seen["environment"]["TRUNKLINE_VAR_DIR"] == str(tmp_path / "var" / "gw1")
    assert _settings_seen({**first, **seen["environment"]}) == seen


def test_a_single_test_process_keeps_var_test_and_the_redis_database_it_was_given(tmp_path: Path) -> None:
    seen = _settings_seen(_environment(tmp_path, "", REDIS_URL="redis://127.0.0.1:6379/8"))
    assert seen["VAR_DIR"] == str(tmp_path / "var") and seen["broker"] == "redis://127.0.0.1:6379/8"


def test_this_process_uses_its_own_folder() -> None:
    """The settings this run loaded: under pytest-xdist, var/test/<worker>; the same folder in the environment that
    the processes a test starts inherit."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:
        assert Path(settings.VAR_DIR).name == worker
    assert Path(os.environ["TRUNKLINE_VAR_DIR"]).resolve() == Path(settings.VAR_DIR).resolve()


def test_each_test_process_takes_the_next_redis_database_and_all_refuse_past_the_last() -> None:
    assert _redis_url_of_worker("redis://127.0.0.1:6379/8", 0, 4) == "redis://127.0.0.1:6379/8"
    assert _redis_url_of_worker("redis://127.0.0.1:6379/8", 3, 4) == "redis://127.0.0.1:6379/11"
    assert _redis_url_of_worker("redis://:secret@127.0.0.1:6379", 2, 3) == "redis://:secret@127.0.0.1:6379/2"
    assert _redis_url_of_worker("redis://127.0.0.1:6379/14", 1, 2) == "redis://127.0.0.1:6379/15"
    for index in (0, 1):  # the first process too: it would run, sharing nothing, but the run would not
        with pytest.raises(ImproperlyConfigured, match="databases 15 to 16"):
            _redis_url_of_worker("redis://127.0.0.1:6379/15", index, 2)
