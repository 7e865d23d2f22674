"""The demo's own settings: its repositories watch for a few minutes, so a fifteen-minute walk sees changes reach
Done (the simulated team ships every two minutes or so and signs off each watch once its window ends)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from delivery.core.processes import Children, free_port
from delivery.flows.watches import watch_signals_read, watches_open
from delivery.github.forms import _template_problem
from delivery.github.models import Repository
from delivery.github.signal_settings import queries_parse, queries_text
from delivery.monitoring.models import MonitoringSession, SignalReading, WatchVerdict
from delivery.monitoring.selectors import watch_dashboard_links
from delivery.simulator import ops
from delivery.simulator.server import SimulatorServer
from delivery.web.management.commands.demo import (
    CLICKUP_PORT,
    DEMO_WATCH_MINUTES,
    SIMULATOR_PORT,
    SLACK_PORT,
    Command,
    demo_signals,
)
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.rollbacks.helpers import release
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


def test_the_demo_repositories_read_the_simulator_s_prometheus_and_a_failed_deploy_degrades_a_watch(
    simulator: SimulatorServer,
) -> None:
    world = simulator.world
    service = world.served_repos[0]
    repository = RepositoryFactory(
        owner=world.org_login, name=service.name, full_name=f"{world.org_login}/{service.name}"
    )
    tuned = RepositoryFactory(name="own", full_name="acme/own", prometheus_url="http://prometheus:9090")
    assert demo_signals(simulator.url) == 1
    repository.refresh_from_db()
    assert repository.prometheus_url == simulator.url and repository.signal_queries[0]["name"] == "Error ratio"
    assert Repository.objects.get(pk=tuned.pk).prometheus_url == "http://prometheus:9090"
    for name in ("metrics_url_template", "logs_url_template"):
        assert _template_problem(getattr(repository, name)) == ""  # the settings form would take them
    assert queries_parse(queries_text(repository.signal_queries)) == repository.signal_queries

    # the watched release goes live ten minutes ago; the next deploy fails two minutes later and hurts production
    deployed = timezone.now() - timedelta(minutes=10)
    owner = member("olga").developer
    release(repository, "v9.9.9", at=deployed, owners=[owner])
    with world.lock:  # a good release live before it (its baseline), then the failed deploy
        good = ops.create_deployment(
            world, service, ref="v9.9.8", sha="1" * 40, environment="production", creator=world.bot, at=deployed
        )
        ops.add_deployment_status(world, service, good, "success", deployed - timedelta(minutes=20), world.bot)
        failed = ops.create_deployment(
            world, service, ref="v9.9.10", sha="2" * 40, environment="production", creator=world.bot, at=deployed
        )
        ops.add_deployment_status(world, service, failed, "failure", deployed + timedelta(minutes=2), world.bot)
    watches_open(repository_id=repository.pk)
    watch_signals_read()
    session = MonitoringSession.objects.get(owner=owner)
    readings = {r.signal: r for r in SignalReading.objects.filter(session=session)}
    assert {r.errors for r in readings.values()} == {0}, {n: (r.judgement, r.reason) for n, r in readings.items()}
    # (Latency is hurt too, but its baseline moves with what the session's other tests deployed on this service.)
    assert readings["Error ratio"].judgement == "degraded"
    assert WatchVerdict.objects.get(session=session).verdict == "degraded"
    links = dict(watch_dashboard_links(session))
    metrics = requests.get(links["Metrics"], timeout=5).json()  # the link opens the series in the simulator
    assert metrics["status"] == "success" and metrics["data"]["result"][0]["metric"]["service"] == service.name


def test_against_the_stand_in_a_verified_task_moves_to_complete_unless_an_admin_named_a_status() -> None:
    plain = RepositoryFactory(name="api", full_name="acme/api")
    named = RepositoryFactory(name="web", full_name="acme/web", clickup_verified_status="done")
    Command()._demo_verified_status()
    assert Repository.objects.get(pk=plain.pk).clickup_verified_status == "complete"
    assert Repository.objects.get(pk=named.pk).clickup_verified_status == "done"
