"""Helpers for the sync tests."""

from __future__ import annotations

from delivery.github.models import Repository
from delivery.simulator.server import SimulatorServer


def followed_repository(simulator: SimulatorServer, name: str = "api") -> Repository:
    """The simulator's repository `name`, followed by Trunkline before any sync (no listing read)."""
    org = simulator.world.org_login
    return Repository.objects.create(
        github_id=simulator.world.repo(name).id, owner=org, name=name, full_name=f"{org}/{name}"
    )
