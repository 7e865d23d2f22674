"""A real Prometheus (Debian's `prometheus` package, 2.42) for the watch's tests: a temporary data directory
backfilled with `promtool tsdb create-blocks-from openmetrics` (so a baseline exists without minutes of waiting), a
free port on 127.0.0.1, stopped with the test module.

The history is of HTTP services in the shape the default queries read: `http_requests_total{service, environment,
code}` (counters, 250 requests a scrape) and `http_request_duration_seconds_bucket{service, environment, le}`; each
service goes through phases of an error ratio and a latency (every request of a phase in one bucket, so its p95 is
95 % of the way through that bucket)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from delivery.core.processes import free_port

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
SCRAPE_SECONDS = 15
REQUESTS_PER_SCRAPE = 250
BUCKETS = (0.1, 0.2, 0.4, 0.8, 1.6)
ENVIRONMENT = "production"


@dataclass(frozen=True)
class Phase:
    """From `since` (Unix seconds) on: this share of requests fails, and every request takes up to `latency` (one of
    BUCKETS)."""

    since: float
    error_ratio: float
    latency: float = 0.2


def p95(latency: float) -> float:
    """What histogram_quantile(0.95, …) reads of a phase's latency."""
    low = max([b for b in BUCKETS if b < latency], default=0.0)
    return low + (latency - low) * 0.95


def openmetrics(services: dict[str, list[Phase]], *, start: float, end: float) -> str:
    """The services' history from `start` to `end`, a sample every SCRAPE_SECONDS, as OpenMetrics text."""
    requests_lines = ["# TYPE http_requests_total unknown"]
    bucket_lines = ["# TYPE http_request_duration_seconds_bucket unknown"]
    for service, phases in services.items():
        ok = failed = 0
        errors_owed = 0.0
        buckets = dict.fromkeys((*BUCKETS, float("inf")), 0)
        ok_rows, failed_rows, bucket_rows = [], [], {b: [] for b in buckets}
        moment = max(start, phases[0].since)  # a service reports from its first phase on
        while moment <= end:
            phase = [p for p in phases if p.since <= moment][-1]
            errors_owed += REQUESTS_PER_SCRAPE * phase.error_ratio
            errors = int(errors_owed)
            errors_owed -= errors
            failed += errors
            ok += REQUESTS_PER_SCRAPE - errors
            for bound in buckets:
                if bound >= phase.latency:
                    buckets[bound] += REQUESTS_PER_SCRAPE
            labels = f'service="{service}",environment="{ENVIRONMENT}"'
            stamp = f"{moment:.3f}"
            ok_rows.append(f'http_requests_total{{{labels},code="200"}} {ok} {stamp}')
            failed_rows.append(f'http_requests_total{{{labels},code="500"}} {failed} {stamp}')
            for bound, count in buckets.items():
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                name = "http_request_duration_seconds_bucket"
                bucket_rows[bound].append(f'{name}{{{labels},le="{le}"}} {count} {stamp}')
            moment += SCRAPE_SECONDS
        requests_lines += ok_rows + failed_rows
        for rows in bucket_rows.values():
            bucket_lines += rows
    return "\n".join([*requests_lines, *bucket_lines, "# EOF"]) + "\n"


class RealPrometheus:
    def __init__(self, folder: Path) -> None:
        if not PROMETHEUS.exists() or not PROMTOOL.exists():
            pytest.fail("Debian's prometheus is not installed (.ci/run installs it with apt-get install prometheus)")
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def backfill(self, text: str) -> None:
        source = self.folder / "history.om"
        source.write_text(text)
        subprocess.run(
            [str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data)],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> RealPrometheus:
        config = self.folder / "prometheus.yml"
        config.write_text(f"global:\n  scrape_interval: {SCRAPE_SECONDS}s\n")
        log = open(self.folder / "prometheus.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1d",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"prometheus exited with {code}; see {self.folder}/prometheus.log")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"prometheus was not ready within 30 s; see {self.folder}/prometheus.log")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
