"""Production histories built by hand for the monitoring and rollback tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.pipeline.models import Change, Release, ReleaseChange, Stage
from tests.factories import DeploymentFactory, PullRequestFactory, RepositoryFactory


def release(
    repository: Any,
    tag: str,
    *,
    at: datetime,
    owners: list[Developer] = (),  # type: ignore[assignment]
    changes: int = 1,
    **extra: Any,
) -> Release:
    sha = (tag.replace(".", "").replace("v", "") * 40)[:40].ljust(40, "0")
    if at < timezone.now() - timedelta(days=1):  # days old: its watch was done long ago (a known good candidate)
        extra.setdefault("watch_state", Release.Watch.DONE)
    deployment = DeploymentFactory(repository=repository, sha=sha, ref=tag, created_at=at, updated_at=at, state_at=at)
    made = Release.objects.create(
        repository=repository,
        deployment=deployment,
        environment="production",
        sha=sha,
        tag_name=tag,
        state=Release.State.SUCCEEDED,
        deployed_at=at,
        **extra,
    )
    for owner in owners:
        made.owners.add(owner)
        for i in range(changes):
            pr = PullRequestFactory(repository=repository, author=owner, title=f"{tag} change {i} by {owner.login}")
            change = Change.objects.create(
                repository=repository,
                pull_request=pr,
                title=pr.title,
                author=owner,
                stage=Stage.IN_PRODUCTION,
                merged_at=at - timedelta(hours=1),
                production_at=at,
            )
            ReleaseChange.objects.create(release=made, change=change)
    return made


def history(owner: Developer, other: Developer) -> dict[str, Any]:
    """v1.0 (other's, good: its watch done), v1.1 (owner's, later failed), v1.2 (owner's and other's, live now)."""
    now = timezone.now()
    repo = RepositoryFactory(name="api", full_name="acme/api")
    v10 = release(repo, "v1.0", at=now - timedelta(days=2), owners=[other], watch_state=Release.Watch.DONE)
    v11 = release(repo, "v1.1", at=now - timedelta(days=1), owners=[owner], failed=True, failure_reason="broke")
    v12 = release(repo, "v1.2", at=now - timedelta(minutes=10), owners=[owner, other])
    return {"repo": repo, "v1.0": v10, "v1.1": v11, "v1.2": v12, "now": now}


def rollback_row(made: dict[str, Any], *, state: str = "requested", **extra: Any) -> Any:
    """A rollback of `history()`'s v1.2 (or `from_release`) to v1.0, as a row (no GitHub involved)."""
    from delivery.rollbacks.models import Rollback

    fields = {
        "repository": made["repo"],
        "environment": "production",
        "from_release": made["v1.2"],
        "target_release": made["v1.0"],
        "target_tag": "v1.0",
        "target_sha": made["v1.0"].sha,
        "reason": "errors",
        "method": "workflow_dispatch",
        "idempotency_key": f"row-{state}-{len(extra)}",
        "state": state,
        **extra,
    }
    made_rollback = Rollback.objects.create(**fields)
    made_rollback.releases_undone.add(fields["from_release"])
    return made_rollback
