"""The demo's ClickUp: the GitHub simulator's branches name their tasks, and the stand-in serves every one of them."""

from __future__ import annotations

from datetime import UTC, datetime

from delivery.clickup.client import ClickUpClient
from delivery.clickup.references import ReferenceRules, TaskReference, task_references
from delivery.simulator.generate import generate_world
from delivery.simulator.names import task_branch
from tools.clickup_server import ClickUpServer, simulator_tasks


def test_a_branch_names_the_task_of_what_its_title_works_on() -> None:
    assert task_branch("ana", "Add order export to CSV") == "ana/prj-7-add-order-export-to-csv"
    assert task_branch("ana", "Something else") == "ana/something-else"


def test_every_simulated_pull_request_names_a_task_the_stand_in_has() -> None:
    world = generate_world(seed=7, repos=2, developers=5, weeks=2, now=datetime(2026, 11, 2, tzinfo=UTC))
    custom_ids = {task.custom_id for task in simulator_tasks()}
    rules = ReferenceRules(custom_prefixes=("PRJ",))
    pulls = [pull for repo in world.repos.values() for pull in repo.pulls.values()]
    assert pulls
    for pull in pulls:
        named = task_references([pull.head_ref, pull.title], rules=rules)
        assert len(named) == 1 and named[0].custom and named[0].task_id in custom_ids, pull.head_ref


def test_the_stand_in_serves_the_simulated_team_s_tasks() -> None:
    with ClickUpServer(tasks=simulator_tasks()) as server:
        client = ClickUpClient(token=server.token, team_id=server.team_id, api_url=server.url)
        task = client.task(TaskReference("PRJ-7", custom=True))
    assert (task.name, task.url) == ("Order export to CSV", "https://app.clickup.com/t/9012345/PRJ-7")
