"""`python -m tools bench_sync`: sync a simulated organization from scratch and print the figures.

The simulator runs as a separate process, so the peak RSS printed is the syncing process's own. Run it at
two sizes (`make bench` does) to see that peak memory does not grow with the number of pull requests.

GitHub's hourly budgets are spent side by side: 5,000 REST requests and 5,000 GraphQL points an hour, so a first
sync needs the longer of the two (`first_sync_budget_hours`). SQL statements are counted on the connection itself
(an execute wrapper), so they are counted with DEBUG off, as production runs."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from github import Auth

from delivery.core.processes import Children, free_port, wait_for_port
from delivery.github.client import GitHubClient
from delivery.github.models import PullRequest, Repository
from delivery.github.sync import SyncSummary, organization_repositories_sync, repository_sync
from tools.figures import database_label

REST_REQUESTS_PER_HOUR = 5_000
GRAPHQL_POINTS_PER_HOUR = 5_000


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def budget_hours(*, rest_requests: int, graphql_points: int) -> float:
    """Hours of GitHub's budgets a sync needs: REST requests and GraphQL points are counted apart and spent in
    parallel, so the larger share sets the time."""
    return max(rest_requests / REST_REQUESTS_PER_HOUR, graphql_points / GRAPHQL_POINTS_PER_HOUR)


@dataclass
class Statements:
    """SQL statements sent while counting, and (with `shapes`) how many of each kind, for finding the ones that
    grow with the data."""

    count: int = 0
    shapes: Counter[str] = field(default_factory=Counter)


@contextmanager
def statements_counted(*, shapes: bool = False) -> Iterator[Statements]:
    counted = Statements()

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        counted.count += 1
        if shapes:
            counted.shapes[" ".join(sql.split()[:6])[:120]] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counted


class Command(BaseCommand):
    help = "Benchmark the sync against a simulated organization (default: 20 repositories, 10,000 PRs)."
    shapes: list[tuple[str, int]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repos", type=int, default=20)
        parser.add_argument("--prs", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
        parser.add_argument(
            "--sql-shapes", type=int, default=0, metavar="N", help="also print the N most frequent SQL statements"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Repository.objects.exists():
            raise CommandError("bench_sync needs an empty database (make bench-sync uses a database of its own).")
        children = Children()
        port = free_port()
        started = time.monotonic()
        try:
            sim = children.python(
                "bench-simulator",
                [
                    "-m",
                    "delivery.simulator",
                    "--port",
                    str(port),
                    "--repos",
                    str(options["repos"]),
                    "--prs",
                    str(options["prs"]),
                    "--seed",
                    str(options["seed"]),
                    "--no-quirks",
                    "--hourly-budget",
                    "10000000",
                ],
                env=dict(os.environ),
            )
            wait_for_port(port, process=sim, timeout=300)
            self.stderr.write(f"simulator ready in {time.monotonic() - started:.1f}s")
            figures = self._run(f"http://127.0.0.1:{port}", options)
        finally:
            children.stop()
        self._print(figures)
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(figures, out, indent=2)

    def _run(self, url: str, options: dict[str, Any]) -> dict[str, Any]:
        counts = json.load(urllib.request.urlopen(f"{url}/_simulator/counts"))  # noqa: S310 - loopback
        client = GitHubClient(
            base_url=f"{url}/api/v3", auth=Auth.Token("bench"), seconds_between_requests=0, seconds_between_writes=0
        )
        rss_before = _rss_mib()

        graphql_before = client.counters.graphql_requests
        with statements_counted(shapes=options["sql_shapes"] > 0) as statements:
            first, first_seconds = self._sync(client)
        graphql_requests = client.counters.graphql_requests - graphql_before
        graphql_points = client.counters.graphql_points
        second, second_seconds = self._sync(client)
        client.close()
        pull_requests = PullRequest.objects.count()
        rest_requests = first.requests - graphql_requests
        self.shapes = statements.shapes.most_common(options["sql_shapes"])
        return {
            "repositories": options["repos"],
            "database": database_label(),
            "debug": settings.DEBUG,
            "pull_requests_simulated": counts.get("pull_requests"),
            "pull_requests_synced": pull_requests,
            "first_sync_seconds": round(first_seconds, 1),
            "first_sync_requests": first.requests,
            "rest_requests": rest_requests,
            "graphql_requests": graphql_requests,
            "graphql_points": graphql_points,
            "requests_per_pr": round(first.requests / max(1, pull_requests), 3),
            "first_sync_budget_hours": round(
                budget_hours(rest_requests=rest_requests, graphql_points=graphql_points), 3
            ),
            "objects_created": first.created,
            "sql_statements": statements.count,
            "sql_statements_per_request": round(statements.count / max(1, first.requests), 1),
            "objects_per_sql_statement": round(first.created / max(1, statements.count), 1),
            "second_sync_seconds": round(second_seconds, 2),
            "second_sync_requests": second.requests,
            "second_sync_304s": second.not_modified,
            "second_sync_written": second.created + second.updated,
            "rss_before_sync_mib": round(rss_before, 1),
            "peak_rss_mib": round(_peak_rss_mib(), 1),
            "python": sys.version.split()[0],
        }

    def _sync(self, client: GitHubClient) -> tuple[SyncSummary, float]:
        started = time.monotonic()
        total, ids = organization_repositories_sync(client=client, org="acme")
        for pk in ids:
            total.merge(repository_sync(repository_id=pk, client=client, trigger="bench"))
        return total, time.monotonic() - started

    def _print(self, f: dict[str, Any]) -> None:
        self.stdout.write(
            f"bench_sync: {f['repositories']} repositories, {f['pull_requests_synced']:,} PRs "
            f"(simulated {f['pull_requests_simulated']:,}) on {f['database']}, DEBUG {'on' if f['debug'] else 'off'}\n"
            f"  first sync     {f['first_sync_seconds']:>8.1f} s   {f['first_sync_requests']:>7,} requests "
            f"({f['rest_requests']:,} REST + {f['graphql_requests']:,} GraphQL, {f['graphql_points']:,} points), "
            f"{f['requests_per_pr']} per PR\n"
            f"  GitHub budget  {f['first_sync_budget_hours']:>8.3f} h   (5,000 REST requests/h and 5,000 GraphQL "
            f"points/h, spent in parallel)\n"
            f"  database       {f['sql_statements']:>8,} SQL statements, {f['sql_statements_per_request']} per GitHub "
            f"request, {f['objects_created']:,} objects created ({f['objects_per_sql_statement']} per statement)\n"
            f"  no-change sync {f['second_sync_seconds']:>8.2f} s   {f['second_sync_requests']:>7,} requests, "
            f"{f['second_sync_304s']:,} answered 304, {f['second_sync_written']} objects written\n"
            f"  memory         {f['rss_before_sync_mib']:.0f} MiB before the sync, peak RSS {f['peak_rss_mib']:.0f} MiB"
        )
        for shape, count in self.shapes:
            self.stdout.write(f"  {count:>8,}  {shape}")
