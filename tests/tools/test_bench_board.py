"""The board benchmark end to end on a small organization: it builds, derives, signs in and times every page.
The figures themselves come from `make bench-board`; this only keeps the command working."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from delivery.github.models import Deployment
from delivery.pipeline.models import Change, Release
from tests.factories import RepositoryFactory
from tools.bench_board import Command as BenchBoard

pytestmark = pytest.mark.django_db
PAGES = ["board", "board htmx refresh", "board by repository", "board by person", "change", "repository", "release"]


def test_bench_board_times_every_page_and_writes_the_figures(tmp_path: Path) -> None:
    out, figures_path = StringIO(), tmp_path / "bench-board.json"

    call_command(
        BenchBoard(),
        repos=2,
        prs=60,
        deployments=20,
        requests=3,
        json_path=str(figures_path),
        stdout=out,
        stderr=StringIO(),
    )

    printed, figures = out.getvalue(), json.loads(figures_path.read_text())
    assert (figures["repositories"], figures["pull_requests"]) == (2, 60)
    assert figures["deployments"] == Deployment.objects.count() > 0  # about 20, and the work in flight's
    assert figures["changes"] == Change.objects.count() == 60  # a change for every pull request
    assert figures["releases"] == Release.objects.count() > 0
    for page in PAGES:
        assert f"  {page} " in printed
        timed = figures["pages"][page]
        assert timed["requests"] == 3 and 0 < timed["p50_ms"] <= timed["p95_ms"] <= timed["max_ms"]
        assert timed["queries"] > 0 and timed["response_kb"] > 0
    assert "p95" in printed and figures["derive_ms_per_repository"]["max"] > 0


def test_bench_board_refuses_a_database_with_data() -> None:
    RepositoryFactory()
    with pytest.raises(CommandError, match="empty database"):
        call_command(BenchBoard(), repos=1, prs=10, deployments=4, requests=1, stdout=StringIO(), stderr=StringIO())
