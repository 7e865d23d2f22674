"""The ingest layer's deployments and their statuses (see ingest.py): a page of them at once, so a sync page of a
hundred deployments with their statuses is a handful of statements, not a few per deployment. A webhook's single
deployment or status goes through the same functions as a page of one."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Case, CharField, DateTimeField, Value, When

from delivery.github.ingest import _user_id, ingest_users
from delivery.github.models import Deployment, DeploymentStatus, Repository
from delivery.github.rows import UPDATED, IngestResult, Row, parse_time, rows_built, upserts_by_shape

logger = logging.getLogger(__name__)

StatusesOf = Sequence[tuple[Deployment, Sequence[dict[str, Any]]]]
"""Deployments (rows already stored: their pk and github_id are used) each with its statuses, in GitHub's shape."""


def web_url(value: Any) -> str:
    """A link the pages may show: http(s) only (a deployment status's URL is anyone's text: no javascript:)."""
    text = str(value or "").strip()
    return text[:500] if text.lower().startswith(("https://", "http://")) else ""


def _is_rollback(d: dict[str, Any]) -> bool:
    payload = given if isinstance(given := d.get("payload"), dict) else {}
    return bool(
        payload.get("rollback")
        or payload.get("trunkline_rollback")
        or "rollback" in (d.get("task") or "")
        or (d.get("description") or "").lower().startswith("rollback")
    )


DEPLOYMENT_FIELDS_KEPT_WHEN_UNSAID = ("ref", "transient_environment", "production_environment")
"""A deployment's fields that a source may not know (GraphQL has no flags, and no ref once the branch or tag is
gone): left out of its row, so what REST or a webhook said stays."""


def ingest_deployments(repository: Repository, items: Sequence[dict[str, Any]]) -> IngestResult:
    users = ingest_users([d.get("creator") for d in items])
    result = IngestResult()
    result.add_skips(users)
    rows = rows_built(
        items,
        lambda d: {
            "github_id": d["id"],
            "repository_id": repository.pk,
            "environment": d["environment"],
            "original_environment": d.get("original_environment") or "",
            "sha": d["sha"],
            "task": d.get("task") or "deploy",
            "description": d.get("description") or "",
            "payload": d["payload"] if isinstance(d.get("payload"), dict) else {},
            "creator_id": _user_id(users.ids, d.get("creator")),
            "created_at": parse_time(d["created_at"]),
            "updated_at": parse_time(d["updated_at"]),
            "is_rollback": _is_rollback(d),
            **({"ref": d.get("ref") or ""} if "ref" in d else {}),
            **{
                flag: bool(d[flag])
                for flag in DEPLOYMENT_FIELDS_KEPT_WHEN_UNSAID[1:]
                if flag in d and d[flag] is not None
            },
        },
        result,
        f"{repository} deployment",
        Deployment,
    )
    upserted = upserts_by_shape(Deployment, rows, key=["github_id"], guard=UPDATED)
    result.add(upserted)
    result.ids = upserted.ids
    return result


def ingest_deployments_with_statuses(
    repository: Repository, page: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]
) -> IngestResult:
    """A page of deployments, each with every status of it: the deployments, then the statuses of them all at
    once; a handful of statements whatever the page's size (the caller holds the transaction)."""
    result = ingest_deployments(repository, [item for item, _ in page])
    statuses_of = []
    for item, statuses in page:
        identity = item.get("id")
        pk = result.ids.get(identity) if isinstance(identity, int) else None
        if pk is None or not isinstance(identity, int):
            continue  # malformed: skipped with its reason
        if statuses:
            statuses_of.append((Deployment(pk=pk, github_id=identity, repository=repository), statuses))
        else:
            logger.info("%s deployment %s has no statuses yet", repository, identity)
    result.add(ingest_deployment_statuses_of(statuses_of))
    return result


def ingest_deployment_statuses(deployment: Deployment, items: Sequence[dict[str, Any]]) -> IngestResult:
    return ingest_deployment_statuses_of([(deployment, items)])


def ingest_deployment_statuses_of(pages: StatusesOf) -> IngestResult:
    """The statuses of several deployments at once, keyed on GitHub's node id (REST's id where there is no node
    id: an old payload); each deployment's own `state` follows its latest status. One write of their authors, one
    of theirs (per shape: REST's rows carry an id, GraphQL's do not), one read and at most one UPDATE for the
    deployments' states."""
    users = ingest_users([s.get("creator") for _, items in pages for s in items if isinstance(s, dict)])
    result = IngestResult()
    result.add_skips(users)
    _status_node_ids_adopt(pages)
    rows: list[Row] = []
    for deployment, items in pages:
        rows += rows_built(
            items,
            lambda s, deployment=deployment: {
                **({"node_id": s["node_id"]} if s.get("node_id") else {}),
                **({"github_id": s["id"]} if s.get("id") is not None else {}),
                "deployment_id": deployment.pk,
                "state": s["state"],
                "description": s.get("description") or "",
                "environment_url": web_url(s.get("environment_url")),
                "log_url": web_url(s.get("log_url") or s.get("target_url")),
                "target_url": s.get("target_url") or "",
                "creator_id": _user_id(users.ids, s.get("creator")),
                "created_at": parse_time(s["created_at"]),
            },
            result,
            f"deployment {deployment.github_id} status",
            DeploymentStatus,
        )
    by_node = [r for r in rows if r.get("node_id")]
    by_id = [r for r in rows if not r.get("node_id") and r.get("github_id") is not None]
    github_ids = {deployment.pk: deployment.github_id for deployment, _ in pages}
    for row in rows:
        if not row.get("node_id") and row.get("github_id") is None:
            result.skipped.append(f"deployment {github_ids.get(row['deployment_id'])} status without an id: skipped")
    result.add(upserts_by_shape(DeploymentStatus, by_node, key=["node_id"]))
    result.add(upserts_by_shape(DeploymentStatus, by_id, key=["github_id"]))
    deployments_refresh_state([deployment.pk for deployment, _ in pages])
    return result


def _status_node_ids_adopt(pages: StatusesOf) -> None:
    """Statuses stored before node ids were kept take theirs from this answer: by REST's id when it has one, else
    (GraphQL) by their state and time, which tell a deployment's statuses apart. One read when there are none
    (always, once the old rows are adopted)."""
    legacy = list(
        DeploymentStatus.objects.filter(
            deployment_id__in={deployment.pk for deployment, _ in pages}, node_id__isnull=True
        )
        .order_by("pk")
        .values("pk", "deployment_id", "github_id", "state", "created_at")
    )
    if not legacy:
        return
    offered = [
        (deployment.pk, s)
        for deployment, items in pages
        for s in items
        if isinstance(s, dict) and isinstance(s.get("node_id"), str) and s["node_id"]
    ]
    taken = set(
        DeploymentStatus.objects.filter(node_id__in={s["node_id"] for _, s in offered}).values_list(
            "node_id", flat=True
        )
    )
    adopted: dict[int, str] = {}
    for deployment_id, s in offered:
        if s["node_id"] in taken:
            continue
        for row in legacy:
            if row["deployment_id"] != deployment_id or row["pk"] in adopted:
                continue
            if s.get("id") is not None:
                if row["github_id"] != s["id"]:
                    continue
            elif (row["state"], row["created_at"]) != (s.get("state"), _time_or_none(s.get("created_at"))):
                continue
            adopted[row["pk"]] = s["node_id"]
            taken.add(s["node_id"])
            break
    if adopted:
        DeploymentStatus.objects.filter(pk__in=list(adopted), node_id__isnull=True).update(
            node_id=Case(*(When(pk=pk, then=Value(node)) for pk, node in adopted.items()), output_field=CharField())
        )


def _time_or_none(value: Any) -> Any:
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        return None


def deployment_refresh_state(deployment: Deployment) -> None:
    deployments_refresh_state([deployment.pk])


def deployments_refresh_state(deployment_ids: Sequence[int]) -> None:
    """Copy each deployment's latest status (and its last known environment URL) onto its row: one read of their
    statuses with the rows' current values, and one UPDATE of those that moved (none when nothing did)."""
    if not deployment_ids:
        return
    latest: dict[int, Mapping[str, Any]] = {}
    url: dict[int, tuple[Any, int, str]] = {}
    for s in DeploymentStatus.objects.filter(deployment_id__in=set(deployment_ids)).values(
        "pk",
        "deployment_id",
        "state",
        "created_at",
        "environment_url",
        "log_url",
        "deployment__state",
        "deployment__state_at",
        "deployment__environment_url",
        "deployment__log_url",
    ):
        order = (s["created_at"], s["pk"])
        held = latest.get(s["deployment_id"])
        if held is None or order > (held["created_at"], held["pk"]):
            latest[s["deployment_id"]] = s
        if s["environment_url"] and (s["deployment_id"] not in url or order > url[s["deployment_id"]][:2]):
            url[s["deployment_id"]] = (*order, s["environment_url"])
    wanted = {
        pk: (s["state"], s["created_at"], url[pk][2] if pk in url else "", s["log_url"]) for pk, s in latest.items()
    }
    moved = {
        pk: values
        for pk, values in wanted.items()
        if values != tuple(latest[pk][f"deployment__{f}"] for f in ("state", "state_at", "environment_url", "log_url"))
    }
    if not moved:
        return

    def each(index: int, field: CharField | DateTimeField) -> Case:
        return Case(*(When(pk=pk, then=Value(values[index])) for pk, values in moved.items()), output_field=field)

    Deployment.objects.filter(pk__in=list(moved)).update(
        state=each(0, CharField()),
        state_at=each(1, DateTimeField()),
        environment_url=each(2, CharField()),
        log_url=each(3, CharField()),
    )
