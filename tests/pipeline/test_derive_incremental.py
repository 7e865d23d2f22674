"""The derivation reads what changed since the last one (pipeline.derive_scope): after the simulated organization's
live activity, what it derived is what a full derivation of the whole history derives, row for row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command

from delivery.flows.changes import repository_changed
from delivery.github.models import Repository
from delivery.pipeline.derive import repository_pipeline_derive
from delivery.pipeline.models import Change, Release, ReleaseChange
from tests.conftest import live_ticks, sync_all

pytestmark = pytest.mark.django_db


def derived_snapshot() -> dict[str, list[Any]]:
    """The derived tables by GitHub identity (no surrogate keys, no bookkeeping times)."""
    change_fields = [f.attname for f in Change._meta.concrete_fields if f.attname not in {"id", "derived_at"}]
    release_fields = [
        f.attname for f in Release._meta.concrete_fields if f.attname not in {"id", "previous_release_id"}
    ]
    return {
        "changes": sorted(map(repr, Change.objects.values_list(*change_fields))),
        "releases": sorted(map(repr, Release.objects.values_list(*release_fields, "previous_release__deployment_id"))),
        "release_changes": sorted(
            ReleaseChange.objects.values_list("release__deployment_id", "change__pull_request_id")
        ),
        "owners": sorted(Release.owners.through.objects.values_list("release__deployment_id", "developer_id")),
    }


def test_incremental_derivation_equals_a_full_one_after_live_activity(github: Any, gh_client: Any) -> None:
    world = github.world
    world.frozen_clock = world.clock()
    sync_all(gh_client, world.org_login)
    repositories = list(Repository.objects.filter(unavailable_reason="").values_list("pk", flat=True))
    now = world.frozen_clock
    for pk in repositories:
        assert repository_changed(repository_id=pk, now=now).full  # the first derivation reads everything
    incremental = 0
    for _ in range(8):
        live_ticks(world, 3, minutes=2)
        sync_all(gh_client, world.org_login)
        now = world.frozen_clock + timedelta(seconds=30)
        for pk in repositories:
            incremental += not repository_changed(repository_id=pk, now=now).full
    assert incremental >= len(repositories) * 6  # most ticks derive only what changed
    assert Change.objects.exclude(stage__in=["done", "closed"]).exists()
    derived = derived_snapshot()
    for pk in repositories:
        assert repository_pipeline_derive(repository_id=pk, now=now, full=True).full
    assert derived_snapshot() == derived


def test_the_derive_command_derives_everything_again(github: Any, gh_client: Any, capsys: Any) -> None:
    github.world.frozen_clock = github.world.clock()
    sync_all(gh_client, github.world.org_login)
    call_command("derive", "--all")
    first = derived_snapshot()
    Change.objects.update(title="?")
    repository = Repository.objects.filter(unavailable_reason="").first()
    assert repository is not None
    call_command("derive", repository.full_name)
    assert Change.objects.filter(repository=repository, title="?").count() == 0
    call_command("derive", "--all")
    assert derived_snapshot() == first
    assert f"{repository.full_name}: " in capsys.readouterr().out
