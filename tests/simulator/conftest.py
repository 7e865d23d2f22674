from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from delivery.simulator.generate import generate_world
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

NOW = datetime(2025, 11, 19, 14, 30, tzinfo=UTC)  # a Wednesday afternoon


@pytest.fixture(scope="session")
def world() -> World:
    """The default world; treat it as read-only (tests that mutate build their own)."""
    return generate_world(seed=42, now=NOW)


@pytest.fixture(scope="session")
def server(world: World) -> Iterator[SimulatorServer]:
    server = SimulatorServer(world, port=0, hourly_budget=1_000_000).start()
    yield server
    server.stop()


@pytest.fixture()
def fresh_server() -> Iterator[SimulatorServer]:
    """A small world of its own, for tests that change things."""
    world = generate_world(seed=7, repos=2, developers=5, weeks=2, now=NOW)
    world.dispatch_step_seconds = 0.05
    server = SimulatorServer(world, port=0, hourly_budget=1_000_000).start()
    yield server
    server.stop()


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = "token test-token"
    yield session
    session.close()
