"""`python -m tools bench_derive`: the derivation's time per repository, full and per beat tick, on a simulated
organization written straight into the mirror (`tools/world_mirror.py`), so that two sizes show whether a tick grows
with the history (issue 15: it must not).

Timed per repository, in this order: the first derivation (everything: no mark yet), a full one again
(`manage.py derive --all`), a beat tick with nothing changed, and a tick after a little live activity in every
repository (a review on an open pull request, a pull request updated, a staging deployment of the main line's head
that succeeded, a new release tag on the commit before it). `make bench-derive` runs 5,000 and 80,000 PRs on
PostgreSQL when it answers."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.github.models import Commit, Deployment, DeploymentStatus, PullRequest, Repository, Review, Tag
from delivery.pipeline.models import Change
from delivery.pipeline.services import repository_derive
from delivery.simulator.generate import generate_world
from tools.figures import database_label, percentile
from tools.world_mirror import mirror_from_world

RUNS = ("first (full)", "full again", "tick, nothing new", "tick, a little new")


class Command(BaseCommand):
    help = "Benchmark the derivation per repository: full, and per beat tick (default: 10 repositories, 5,000 PRs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repos", type=int, default=10)
        parser.add_argument("--prs", type=int, default=5_000)
        parser.add_argument("--weeks", type=int, default=52, help="of history")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if Repository.objects.exists() or Developer.objects.exists():
            raise CommandError("bench_derive needs an empty database (make bench-derive uses a database of its own).")
        started = time.monotonic()
        world = generate_world(
            seed=options["seed"],
            repos=options["repos"],
            developers=max(6, 3 * options["repos"]),
            weeks=options["weeks"],
            prs=options["prs"],
            deployments=options["prs"] // 4,
            quirks=False,
        )
        mirror_from_world(world)
        del world
        self.stderr.write(f"built the mirror in {time.monotonic() - started:.1f}s; deriving")
        repositories = list(Repository.objects.order_by("pk").values_list("pk", flat=True))
        now = timezone.now()
        runs: dict[str, list[float]] = {}
        runs[RUNS[0]] = self._each(repositories, lambda pk: repository_derive(repository_id=pk, now=now))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would have after a bulk load
        runs[RUNS[1]] = self._each(repositories, lambda pk: repository_derive(repository_id=pk, now=now, full=True))
        tick = now + timedelta(minutes=1)
        runs[RUNS[2]] = self._each(repositories, lambda pk: self._tick(pk, tick))
        tick += timedelta(minutes=1)
        for pk in repositories:
            _a_little_activity(pk, tick)
        runs[RUNS[3]] = self._each(repositories, lambda pk: self._tick(pk, tick))
        figures = {
            "repositories": len(repositories),
            "pull_requests": PullRequest.objects.count(),
            "pull_requests_per_repository": round(PullRequest.objects.count() / len(repositories)),
            "deployments": Deployment.objects.count(),
            "changes_in_flight": Change.objects.exclude(stage__in=["done", "closed"]).count(),
            "ms_per_repository": {
                name: {
                    "p50": round(percentile(ms, 0.5), 1),
                    "p95": round(percentile(ms, 0.95), 1),
                    "max": round(ms[-1], 1),
                    "mean": round(sum(ms) / len(ms), 1),
                }
                for name, ms in runs.items()
            },
            "database": database_label(),
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "total_seconds": round(time.monotonic() - started, 1),
        }
        self._print(figures)
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(figures, out, indent=2)

    def _tick(self, pk: int, now: Any) -> None:
        if repository_derive(repository_id=pk, now=now).full:
            raise CommandError(f"a tick of repository {pk} derived everything: the incremental path was not taken")

    def _each(self, repositories: list[int], derive: Callable[[int], Any]) -> list[float]:
        ms = []
        for pk in repositories:
            started = time.perf_counter()
            derive(pk)
            ms.append((time.perf_counter() - started) * 1000)
        return sorted(ms)

    def _print(self, f: dict[str, Any]) -> None:
        lines = [
            f"bench_derive: {f['repositories']} repositories, {f['pull_requests']:,} PRs "
            f"({f['pull_requests_per_repository']:,} a repository), {f['deployments']:,} deployments, "
            f"{f['changes_in_flight']:,} changes in flight, on {f['database']}",
            f"  {'derivation, ms per repository':<32}{'p50':>9}{'p95':>9}{'max':>9}{'mean':>9}",
        ]
        for name, m in f["ms_per_repository"].items():
            lines.append(f"  {name:<32}{m['p50']:>9.1f}{m['p95']:>9.1f}{m['max']:>9.1f}{m['mean']:>9.1f}")
        lines.append(
            f"  took {f['total_seconds']:.0f} s in all (Python {f['python']}, Django {f['django']}); "
            f"load average {f['load_average_1min']:.1f} at the end, on {f['cpus']} CPUs"
        )
        self.stdout.write("\n".join(lines))


def _a_little_activity(repository_id: int, now: Any) -> None:
    """What a minute of a busy repository writes to the mirror: a review, a pull request updated, a staging deploy of
    the main line's head, a release tag."""
    open_pr = PullRequest.objects.filter(repository_id=repository_id, state=PullRequest.State.OPEN).first()
    if open_pr is not None:
        Review.objects.create(
            github_id=10**12 + open_pr.pk,
            pull_request=open_pr,
            author=None,
            state=Review.State.COMMENTED,
            submitted_at=now,
        )
        PullRequest.objects.filter(pk=open_pr.pk).update(updated_at=now, title=f"{open_pr.title} (edited)")
    head = Commit.objects.filter(repository_id=repository_id, main_position__isnull=False).order_by("-main_position")
    commits = list(head.values_list("sha", flat=True)[:2])
    repository = Repository.objects.get(pk=repository_id)
    if commits:
        deployment = Deployment.objects.create(
            github_id=10**12 + repository_id,
            repository=repository,
            environment=repository.staging_environment,
            sha=commits[0],
            ref=repository.default_branch,
            created_at=now,
            updated_at=now,
            state="success",
            state_at=now,
        )
        DeploymentStatus.objects.create(
            node_id=f"bench-{repository_id}", deployment=deployment, state="success", created_at=now
        )
    if len(commits) > 1:
        Tag.objects.create(repository=repository, name="v999.0.0", sha=commits[1], created_at=now)
