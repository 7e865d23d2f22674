"""`python -m tools bench_sync`: sync a simulated organization from scratch and print the figures.

The simulator runs as a separate process, so the peak RSS printed is the syncing process's own. Run it at
two sizes (`make bench` does) to see that peak memory does not grow with the number of pull requests."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from github import Auth

from delivery.core.processes import Children, free_port, wait_for_port
from delivery.github.client import GitHubClient
from delivery.github.models import PullRequest, Repository
from delivery.github.sync import SyncSummary, organization_repositories_sync, repository_sync


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark the sync against a simulated organization (default: 20 repositories, 10,000 PRs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repos", type=int, default=20)
        parser.add_argument("--prs", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if Repository.objects.exists():
            raise CommandError("bench_sync needs an empty database (make bench uses its own SQLite file).")
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

        first, first_seconds = self._sync(client)
        second, second_seconds = self._sync(client)
        client.close()
        pull_requests = PullRequest.objects.count()
        return {
            "repositories": options["repos"],
            "pull_requests_simulated": counts.get("pull_requests"),
            "pull_requests_synced": pull_requests,
            "first_sync_seconds": round(first_seconds, 1),
            "first_sync_requests": first.requests,
            "requests_per_pr": round(first.requests / max(1, pull_requests), 2),
            "objects_created": first.created,
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
            f"(simulated {f['pull_requests_simulated']:,})\n"
            f"  first sync     {f['first_sync_seconds']:>8.1f} s   {f['first_sync_requests']:>7,} requests "
            f"({f['requests_per_pr']} per PR), {f['objects_created']:,} objects created\n"
            f"  no-change sync {f['second_sync_seconds']:>8.2f} s   {f['second_sync_requests']:>7,} requests, "
            f"{f['second_sync_304s']:,} answered 304, {f['second_sync_written']} objects written\n"
            f"  memory         {f['rss_before_sync_mib']:.0f} MiB before the sync, peak RSS {f['peak_rss_mib']:.0f} MiB"
        )
