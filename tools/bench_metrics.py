"""`python -m tools bench_metrics`: the metrics page and API on a quarter of a large simulated organization.

The organization is the GitHub simulator's (default: 50 repositories, 20,000 PRs and about 5,000 deployments over
13 weeks), written straight into the mirror (`tools/world_mirror.py`) and derived, as `bench_board` does. Then the
metrics page (with its previous-period comparison and charts), the API, one repository's figures and an evidence
list are requested in-process through the whole Django stack, with DEBUG off. Printed: p50/p95/max server time and
queries per request. Aims: the page's p95 under 300 ms, the API's under 200 ms. `make bench-metrics` runs it on
PostgreSQL when it answers."""

from __future__ import annotations

import json
import os
import random
import sys
import time
import warnings
from typing import Any

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.test.utils import override_settings

from delivery.github.models import Deployment, PullRequest, Repository
from delivery.pipeline.models import Change, Release
from tools.figures import database_label, measured, percentile
from tools.world_mirror import organization_derived

AIMS_P95_MS = {"metrics page": 300.0, "metrics API": 200.0}  # computed, not kept: what a request after a write pays


class Command(BaseCommand):
    help = "Benchmark the metrics page and API on a quarter of a simulated organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repos", type=int, default=50)
        parser.add_argument("--prs", type=int, default=20_000)
        parser.add_argument("--deployments", type=int, default=5_000, help="about this many")
        parser.add_argument("--weeks", type=int, default=13, help="of history (a quarter)")
        parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if Repository.objects.exists() or Change.objects.exists():
            raise CommandError("bench_metrics needs an empty database (make bench-metrics uses a database of its own).")
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        build_seconds = organization_derived(
            repos=options["repos"],
            prs=options["prs"],
            deployments=options["deployments"],
            weeks=options["weeks"],
            seed=options["seed"],
        )
        self.stderr.write(f"built and derived in {build_seconds:.1f}s; timing the metrics")
        load_before = os.getloadavg()[0]
        pages = self._time(random.Random(options["seed"]), options["requests"])  # noqa: S311 - reproducible
        figures = {
            "repositories": Repository.objects.count(),
            "pull_requests": PullRequest.objects.count(),
            "deployments": Deployment.objects.count(),
            "changes": Change.objects.count(),
            "releases": Release.objects.count(),
            "build_seconds": round(build_seconds, 1),
            "requests_per_page": options["requests"],
            "pages": pages,
            "aims_p95_ms": AIMS_P95_MS,
            "over_aim": [n for n, aim in AIMS_P95_MS.items() if pages[n]["p95_ms"] > aim],
            "database": database_label(),
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        self._print(figures)
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(figures, out, indent=2)

    def _time(self, rng: random.Random, requests: int) -> dict[str, dict[str, Any]]:
        user = get_user_model().objects.create_superuser(username="bench-metrics", email="bench@example.com")
        names = list(Repository.objects.values_list("full_name", flat=True))
        # Computed: every request computes its figures (METRICS_CACHE_SECONDS=0), what a request after a write pays.
        # Kept: the figures read back under the figures' stamp, what the next people asking for the scope get.
        pages: dict[str, tuple[Any, int]] = {
            "metrics page": (lambda: "/metrics/?period=quarter", 0),
            "metrics page, one repository": (lambda: f"/metrics/?period=quarter&repository={rng.choice(names)}", 0),
            "metrics API": (lambda: "/api/v1/metrics/?period=quarter", 0),
            "evidence: lead time (API)": (lambda: "/api/v1/metrics/evidence/?period=quarter&figure=lead_time", 0),
            "metrics page, kept": (lambda: "/metrics/?period=quarter", 300),
            "metrics API, kept": (lambda: "/api/v1/metrics/?period=quarter", 300),
        }
        figures: dict[str, dict[str, Any]] = {}
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts, SECURE_SSL_REDIRECT=False):
            client = Client()
            client.force_login(user)
            for name, (path, keep) in pages.items():
                with override_settings(METRICS_CACHE_SECONDS=keep):
                    figures[name] = self._timed(client, path, requests)
        return figures

    def _timed(self, client: Client, path: Any, requests: int) -> dict[str, Any]:
        """p50/p95/max server time of `requests` requests of `path()` (after 3 to warm), and the queries of one."""
        for _ in range(3):
            self._get(client, path())
        at = path()
        _, _, queries = measured(lambda: self._get(client, at))
        ms = []
        for _ in range(requests):
            begun = time.perf_counter()
            self._get(client, path())
            ms.append((time.perf_counter() - begun) * 1000)
        ms.sort()
        return {
            "p50_ms": round(percentile(ms, 0.5), 1),
            "p95_ms": round(percentile(ms, 0.95), 1),
            "max_ms": round(ms[-1], 1),
            "queries": queries,
        }

    def _get(self, client: Client, path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise CommandError(f"GET {path} answered {response.status_code}")

    def _print(self, f: dict[str, Any]) -> None:
        self.stdout.write(
            f"bench_metrics: {f['repositories']} repositories, {f['pull_requests']:,} PRs, {f['deployments']:,} "
            f"deployments ({f['changes']:,} changes, {f['releases']:,} releases) on {f['database']}; "
            f"{f['requests_per_page']} timed requests a page; load {f['load_average_1min']}"
        )
        for name, page in f["pages"].items():
            aim = f["aims_p95_ms"].get(name)
            verdict = (
                "" if aim is None else (" (aim met)" if page["p95_ms"] <= aim else f" (OVER the {aim:.0f} ms aim)")
            )
            times = f"p50 {page['p50_ms']:>7.1f} ms  p95 {page['p95_ms']:>7.1f} ms  max {page['max_ms']:>7.1f} ms"
            self.stdout.write(f"  {name:<30} {times}  {page['queries']} queries{verdict}")
