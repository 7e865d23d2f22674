"""The demo's own settings: its repositories watch for a few minutes, so a fifteen-minute walk sees changes reach
Done (the simulated team ships every two minutes or so and signs off each watch once its window ends)."""

from __future__ import annotations

import time

import pytest
import requests

from delivery.core.processes import Children, free_port
from delivery.github.models import Repository
from delivery.web.management.commands.demo import CLICKUP_PORT, DEMO_WATCH_MINUTES, SIMULATOR_PORT, SLACK_PORT, Command
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


def test_the_demo_repositories_watch_for_a_few_minutes_unless_an_admin_set_their_window() -> None:
    synced = RepositoryFactory(name="api", full_name="acme/api")
    tuned = RepositoryFactory(name="web", full_name="acme/web", monitoring_window_minutes=45)
    Command()._demo_watch_window()
    synced.refresh_from_db()
    assert (synced.monitoring_window_minutes, synced.monitoring_grace_minutes) == (DEMO_WATCH_MINUTES,) * 2
    assert DEMO_WATCH_MINUTES <= 5
    assert Repository.objects.get(pk=tuned.pk).monitoring_window_minutes == 45


def test_the_demo_starts_the_clickup_stand_in_and_points_trunkline_at_it() -> None:
    env: dict[str, str] = {}
    children = Children()
    port = free_port()
    try:
        Command()._start_clickup(children, env, port)
        answer = requests.get(
            f"{env['CLICKUP_API_URL']}/api/v2/task/PRJ-7",
            params={"custom_task_ids": "true", "team_id": env["CLICKUP_TEAM_ID"]},
            headers={"Authorization": env["CLICKUP_TOKEN"]},
            timeout=5,
        )
    finally:
        children.stop()
    assert answer.status_code == 200 and answer.json()["name"] == "Order export to CSV"
    assert env["CLICKUP_CUSTOM_ID_PREFIXES"] == "PRJ"


def test_the_demo_starts_the_slack_stand_in_points_trunkline_at_it_and_logs_what_it_received() -> None:
    env: dict[str, str] = {}
    children = Children()
    port = free_port()
    try:
        Command()._start_slack(children, env, port)
        answer = requests.post(
            f"{env['SLACK_API_URL']}chat.postMessage",
            json={"channel": env["SLACK_DEFAULT_CHANNEL"], "text": "Week 2026-W47: 2 failed releases"},
            headers={"Authorization": f"Bearer {env['SLACK_BOT_TOKEN']}"},
            timeout=5,
        )
        log = children.log_dir / "slack.log"
        deadline = time.monotonic() + 5
        while "Week 2026-W47" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        children.stop()
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert port not in (SIMULATOR_PORT, CLICKUP_PORT) and SLACK_PORT not in (SIMULATOR_PORT, CLICKUP_PORT)
    assert f"[api → {env['SLACK_DEFAULT_CHANNEL']}] Week 2026-W47: 2 failed releases" in log.read_text()
