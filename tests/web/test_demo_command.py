"""The demo's own settings: its repositories watch for a few minutes, so a fifteen-minute walk sees changes reach
Done (the simulated team ships every two minutes or so and signs off each watch once its window ends)."""

from __future__ import annotations

import pytest
import requests

from delivery.core.processes import Children, free_port
from delivery.github.models import Repository
from delivery.web.management.commands.demo import DEMO_WATCH_MINUTES, Command
from tests.factories import RepositoryFactory
from tools.clickup_tasks import BACKLOG_LIST_ID

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
    command = Command()
    command.members = ["ana", "bo"]
    try:
        command._start_clickup(children, env, port, web_url="http://127.0.0.1:8000")
        answer = requests.get(
            f"{env['CLICKUP_API_URL']}/api/v2/task/PRJ-7",
            params={"custom_task_ids": "true", "team_id": env["CLICKUP_TEAM_ID"]},
            headers={"Authorization": env["CLICKUP_TOKEN"]},
            timeout=5,
        )
        hooks = requests.get(
            f"{env['CLICKUP_API_URL']}/api/v2/team/{env['CLICKUP_TEAM_ID']}/webhook",
            headers={"Authorization": env["CLICKUP_TOKEN"]},
            timeout=5,
        ).json()["webhooks"]
        team = requests.get(
            f"{env['CLICKUP_API_URL']}/api/v2/team", headers={"Authorization": env["CLICKUP_TOKEN"]}, timeout=5
        ).json()["teams"][0]
    finally:
        children.stop()
    assert answer.status_code == 200 and answer.json()["name"] == "Order export to CSV"
    assert env["CLICKUP_CUSTOM_ID_PREFIXES"] == "PRJ" and env["CLICKUP_QUEUE_LISTS"] == BACKLOG_LIST_ID
    # The webhook to the web server is registered, and its secret handed to the web server and the worker.
    assert [h["endpoint"] for h in hooks] == ["http://127.0.0.1:8000/webhooks/clickup/"]
    assert env["CLICKUP_WEBHOOK_SECRET"] == hooks[0]["secret"]
    # The developers are members of the workspace by their simulator address, each with a backlog.
    emails = {m["user"]["email"] for m in team["members"]}
    assert {"ana@acme.test", "bo@acme.test"} <= emails


def test_against_the_stand_in_a_verified_task_moves_to_complete_unless_an_admin_named_a_status() -> None:
    plain = RepositoryFactory(name="api", full_name="acme/api")
    named = RepositoryFactory(name="web", full_name="acme/web", clickup_verified_status="done")
    Command()._demo_verified_status()
    assert Repository.objects.get(pk=plain.pk).clickup_verified_status == "complete"
    assert Repository.objects.get(pk=named.pk).clickup_verified_status == "done"
