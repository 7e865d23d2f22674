"""The simulator's Prometheus API: its services' error ratio and p95 latency, read with the watch's own client, move
with the world's production deployments (a failed one hurts both until a later one succeeds; a bad release raises
one); a query it cannot answer is refused as Prometheus refuses it. On a world of their own: they add deployments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from delivery.monitoring.prometheus import PrometheusClient
from delivery.monitoring.signal_http import SignalReadError
from delivery.simulator import ops
from delivery.simulator.prometheus import BAD, ERROR_RATIO, HURT, LATENCY, STEADY
from delivery.simulator.server import SimulatorServer

MINUTE = timedelta(minutes=1)


def _deploy(simulator: SimulatorServer, sha: str, state: str, at: datetime) -> None:
    world = simulator.world
    repo = world.served_repos[0]
    with world.lock:
        deployment = ops.create_deployment(
            world, repo, ref=sha[:7], sha=sha, environment="production", creator=world.bot, at=at, production=True
        )
        ops.add_deployment_status(world, repo, deployment, state, at + MINUTE, world.bot)


def _read(simulator: SimulatorServer, metric: str, start: datetime, end: datetime) -> list[float]:
    service = simulator.world.served_repos[0].name
    client = PrometheusClient(base_url=simulator.url)
    query = f'{metric}{{service="{service}", environment="production"}}'
    return [value for _, value in client.query_range(query, start=start, end=end, step=60)]


def test_a_failed_production_deploy_hurts_both_signals_until_a_later_one_succeeds(
    fresh_server: SimulatorServer,
) -> None:
    start = fresh_server.world.clock() + timedelta(hours=1)  # after the generated history: only these deploys count
    _deploy(fresh_server, "1" * 40, "success", start)
    _deploy(fresh_server, "2" * 40, "failure", start + 30 * MINUTE)
    _deploy(fresh_server, "5" * 40, "success", start + 60 * MINUTE)
    errors = _read(fresh_server, ERROR_RATIO, start + 2 * MINUTE, start + 90 * MINUTE)
    latency = _read(fresh_server, LATENCY, start + 2 * MINUTE, start + 90 * MINUTE)
    assert len(errors) == 89
    before, hurt, after = errors[:28], errors[30:58], errors[60:]
    assert max(before + after) < 2 * STEADY[ERROR_RATIO][0] + 0.01  # a watch's rule would call this healthy
    assert min(hurt) > HURT[ERROR_RATIO] / 2
    assert min(latency[30:58]) > 1.5 * max(latency[:28])


def test_one_release_in_six_is_bad_once_live(fresh_server: SimulatorServer) -> None:
    start = fresh_server.world.clock() + timedelta(hours=1)
    _deploy(fresh_server, "1" * 40, "success", start)
    _deploy(fresh_server, "0" * 40, "success", start + 30 * MINUTE)  # its sha says: bad, in its error ratio
    errors = _read(fresh_server, ERROR_RATIO, start + 2 * MINUTE, start + 60 * MINUTE)
    assert max(errors[:28]) < 0.006 and min(errors[30:]) > BAD[ERROR_RATIO] / 2


def test_instant_queries_unknown_services_and_queries_it_cannot_answer(fresh_server: SimulatorServer) -> None:
    service = fresh_server.world.served_repos[0].name
    instant = requests.get(
        f"{fresh_server.url}/api/v1/query", params={"query": f'{LATENCY}{{service="{service}"}}'}, timeout=5
    ).json()
    assert instant["status"] == "success" and instant["data"]["resultType"] == "vector"
    [sample] = instant["data"]["result"]
    assert sample["metric"]["service"] == service and 0.1 < float(sample["value"][1]) < 0.3
    client = PrometheusClient(base_url=fresh_server.url)
    now = fresh_server.world.clock()
    assert client.query_range(f'{ERROR_RATIO}{{service="nobody"}}', start=now - MINUTE, end=now, step=15) == []
    with pytest.raises(SignalReadError, match='Prometheus answered 400: bad_data: invalid parameter "query"'):
        client.query_range(f"sum(rate({ERROR_RATIO}[5m]))", start=now - MINUTE, end=now, step=15)
    with pytest.raises(SignalReadError, match=r"The query gives \d+ series"):
        client.query_range(ERROR_RATIO, start=now - MINUTE, end=now, step=15)  # every service
    refused = requests.get(
        f"{fresh_server.url}/api/v1/query_range",
        params={"query": ERROR_RATIO, "start": "1", "end": "100000", "step": "1"},
        timeout=5,
    )
    assert refused.status_code == 400 and "11,000 points" in refused.json()["error"]
