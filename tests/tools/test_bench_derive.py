"""The derivation benchmark end to end on a small organization: it builds, derives fully, then ticks incrementally.
The figures themselves come from `make bench-derive`; this only keeps the command working."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tools.bench_derive import RUNS
from tools.bench_derive import Command as BenchDerive

pytestmark = pytest.mark.django_db


def test_bench_derive_times_full_and_incremental_derivations(tmp_path: Path) -> None:
    out, figures_path = StringIO(), tmp_path / "bench-derive.json"
    call_command(BenchDerive(), repos=2, prs=60, json_path=str(figures_path), stdout=out, stderr=StringIO())
    figures = json.loads(figures_path.read_text())
    assert (figures["repositories"], figures["pull_requests"]) == (2, 60)
    assert list(figures["ms_per_repository"]) == list(RUNS)
    assert all(name in out.getvalue() for name in RUNS)
