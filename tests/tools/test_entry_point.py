"""`python -m tools COMMAND`, as the Makefile runs the benchmarks: Django set up, the command's own options."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings


def _tools(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools", *args], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )


def test_a_benchmark_runs_as_a_command_with_its_options() -> None:
    answer = _tools("bench_board", "--help")

    assert answer.returncode == 0, answer.stderr
    assert "usage: python -m tools bench_board" in answer.stdout
    assert "--deployments" in answer.stdout and "--requests" in answer.stdout


def test_an_unknown_command_is_refused_with_the_list_of_commands() -> None:
    answer = _tools("bench_nothing")

    assert answer.returncode == 2
    assert "bench_board" in answer.stderr and "bench_webhooks" in answer.stderr and "bench_sync" in answer.stderr
