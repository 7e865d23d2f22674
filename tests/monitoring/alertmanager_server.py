"""A real Alertmanager (Debian's prometheus-alertmanager, 0.25) for the tests: its own configuration and data folder,
a free port, clustering off, groups flushed within seconds, one webhook receiver pointing at Trunkline with a bearer
token or basic auth (its `http_config`, as an operator configures it). Alerts are posted to its API
(`POST /api/v2/alerts`)."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import requests

from delivery.core.processes import free_port, wait_for_port

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")

CONFIG = """\
route:
  receiver: trunkline
  group_by: ["alertname", "service"]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: trunkline
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
{http_config}
"""
BEARER = """\
          authorization:
            type: Bearer
            credentials: {token}"""
BASIC = """\
          basic_auth:
            username: {username}
            password: {password}"""


class Alertmanager:
    def __init__(
        self, folder: Path, *, webhook_url: str, log: Path, token: str = "", basic: tuple[str, str] | None = None
    ) -> None:
        if not ALERTMANAGER.exists():
            pytest.fail(
                f"Debian's Alertmanager is not installed ({ALERTMANAGER}): `.ci/run` installs it "
                "(apt-get install prometheus-alertmanager)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / "alertmanager.yml"
        if basic is not None:
            http_config = BASIC.format(username=json.dumps(basic[0]), password=json.dumps(basic[1]))
        else:
            http_config = BEARER.format(token=json.dumps(token))
        self.config.write_text(CONFIG.format(url=json.dumps(webhook_url), http_config=http_config))
        self.data = folder / "data"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Alertmanager:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(ALERTMANAGER),
                    f"--config.file={self.config}",
                    f"--storage.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",  # no peers, no gossip port
                    "--log.level=debug",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, process=self.process, timeout=30)
        deadline = time.monotonic() + 30
        while requests.get(f"{self.url}/-/ready", timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Alertmanager not ready; see {self.log}")
            time.sleep(0.1)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def post(
        self, labels: dict[str, str], *, starts_at: datetime, ends_at: datetime | None = None, **annotations: str
    ) -> None:
        """An alert as Prometheus posts it to Alertmanager's API; with an end in the past, its resolution."""
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": starts_at.isoformat(),
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=job%3Aerrors%3Aratio",
        }
        if ends_at is not None:
            alert["endsAt"] = ends_at.isoformat()
        answer = requests.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=10)
        answer.raise_for_status()

    def webhook_failures(self) -> list[str]:
        """Lines of its log where a notification to the webhook failed (a 4xx it will not retry, for one)."""
        return [
            line for line in self.log.read_text(errors="replace").splitlines() if "Notify for alerts failed" in line
        ]
