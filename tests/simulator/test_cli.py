"""``python -m delivery.simulator`` and ``manage.py simulator`` start, answer, and stop cleanly on SIGTERM."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from delivery.simulator.runner import add_arguments

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--port",
    "0",
    "--repos",
    "2",
    "--developers",
    "4",
    "--weeks",
    "1",
    "--prs",
    "40",
    "--deployments",
    "20",
    "--live",
    "--tick-seconds",
    "0.2",
]


def _serve_and_stop(command: list[str], env: dict[str, str]) -> None:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        match = re.fullmatch(
            r"GitHub simulator: (http://127\.0\.0\.1:\d+) \(org acme, 2 repositories, "
            r"40 pull requests\)\n",
            line,
        )
        assert match, line + (process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
        url = match.group(1)
        assert requests.get(f"{url}/api/v3/orgs/acme", headers={"Authorization": "token x"}, timeout=10).ok
        assert requests.get(f"{url}/_simulator/counts", timeout=10).json()["pull_requests"] == 40
        assert requests.post(f"{url}/_simulator/tick", timeout=10).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_python_dash_m_runs_without_django() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    _serve_and_stop([sys.executable, "-m", "delivery.simulator", *ARGS], env)


@pytest.mark.skipif(importlib.util.find_spec("delivery.settings") is None, reason="no Django project yet")
def test_manage_py_simulator() -> None:
    env = {**os.environ, "TRUNKLINE_DEMO": "1", "PYTHONPATH": str(ROOT)}
    _serve_and_stop([sys.executable, "manage.py", "simulator", *ARGS], env)


def test_arguments() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = vars(parser.parse_args([]))
    assert options["port"] == 8765 and options["seed"] == 42 and options["repos"] == 4 and not options["live"]
    assert vars(parser.parse_args(["--no-quirks", "--state-file", "x.pickle"]))["no_quirks"] is True
