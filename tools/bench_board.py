"""`python -m tools bench_board`: the pipeline pages' server time on a large simulated organization.

The organization is the GitHub simulator's, the demo's generator scaled up (a year of trunk-based history by
default: squash merges, reviews, release trains through staging and production, previews, a few failed and rolled
back deploys, work in flight in every stage), written straight into the mirror (`tools/world_mirror.py`: bulk
inserts, no server, no sync). Then the derivation runs for every repository, as the periodic task does, and each
page is requested in-process through the whole Django stack (middleware, sign-in, templates) with the test client,
signed in as a superuser. Printed: p50/p95/max server time per page, queries per request and the response size; the
aim is a p95 under 100 ms. `make bench-board` runs it on PostgreSQL when it answers."""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import NoReverseMatch, reverse

from delivery.accounts.models import Developer
from delivery.github.models import (
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    Repository,
    Review,
    Tag,
)
from delivery.pipeline.models import Change, Release, Stage
from delivery.pipeline.services import repository_derive
from delivery.simulator.generate import generate_world
from tools.figures import database_label, percentile
from tools.world_mirror import mirror_from_world

AIM_P95_MS = 100.0
HISTORY_WEEKS = 52
HTMX_REFRESH = {"HX-Request": "true", "HX-Target": "board-columns", "HX-Trigger": "board-columns"}


def _board_path() -> str:
    """The pipeline board: `board` once `/` leads each person to their own queue, `home` before."""
    try:
        return reverse("board")
    except NoReverseMatch:
        return reverse("home")


class _FullCollections:
    """Counts the garbage collector's full (generation 2) collections and the time they take, while entered: they
    pause whichever request is running, and make much of a page's p95."""

    def __init__(self) -> None:
        self.count, self.ms, self._started = 0, 0.0, 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.ms += (time.perf_counter() - self._started) * 1000

    def __enter__(self) -> _FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


@dataclass
class _Page:
    name: str
    path: Callable[[], str]
    headers: dict[str, str] = field(default_factory=dict)


class Command(BaseCommand):
    help = "Benchmark the pipeline pages on a simulated organization (default: 50 repositories, 20,000 PRs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repos", type=int, default=50)
        parser.add_argument("--prs", type=int, default=20_000)
        parser.add_argument("--deployments", type=int, default=5_000, help="about this many")
        parser.add_argument("--developers", type=int, help="default: three per repository")
        parser.add_argument("--weeks", type=int, default=HISTORY_WEEKS, help="of history")
        parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if Repository.objects.exists() or Developer.objects.exists() or Change.objects.exists():
            raise CommandError("bench_board needs an empty database (make bench-board uses a database of its own).")
        if options["repos"] < 1 or options["prs"] < options["repos"] or options["requests"] < 1:
            raise CommandError("needs at least one repository, a pull request per repository and one request.")
        # WhiteNoise warns once when STATIC_ROOT was never collected; the pages read no static file.
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        started = time.monotonic()
        rng = random.Random(options["seed"])  # noqa: S311 - a reproducible simulation
        world = generate_world(
            seed=options["seed"],
            repos=options["repos"],
            developers=options["developers"] or max(6, 3 * options["repos"]),
            weeks=options["weeks"],
            prs=options["prs"],
            deployments=options["deployments"],
            quirks=False,
        )
        world_seconds = time.monotonic() - started
        mirror_from_world(world)
        del world
        write_seconds = time.monotonic() - started - world_seconds
        self.stderr.write(f"built the mirror in {world_seconds + write_seconds:.1f}s; deriving")
        derive_ms = []
        for pk in Repository.objects.order_by("pk").values_list("pk", flat=True):
            derive_started = time.perf_counter()
            repository_derive(repository_id=pk)
            derive_ms.append((time.perf_counter() - derive_started) * 1000)
        derive_ms.sort()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would have after a bulk load
        self.stderr.write(f"derived in {sum(derive_ms) / 1000:.1f}s; timing the pages")
        load_before = os.getloadavg()[0]
        pages = self._time_pages(rng, options["requests"])
        load_after = os.getloadavg()[0]
        figures = {
            "repositories": Repository.objects.count(),
            "pull_requests": PullRequest.objects.count(),
            "deployments": Deployment.objects.count(),
            "deployment_statuses": DeploymentStatus.objects.count(),
            "main_line_commits": Commit.objects.count(),
            "reviews": Review.objects.count(),
            "tags": Tag.objects.count(),
            "developers": Developer.objects.count(),
            "changes": Change.objects.count(),
            "releases": Release.objects.count(),
            "changes_by_stage": dict(Counter(Change.objects.values_list("stage", flat=True))),
            "build_seconds": round(world_seconds + write_seconds, 1),
            "world_seconds": round(world_seconds, 1),
            "write_seconds": round(write_seconds, 1),
            "derive_seconds": round(sum(derive_ms) / 1000, 2),
            "derive_ms_per_repository": {
                "p50": round(percentile(derive_ms, 0.5), 1),
                "p95": round(percentile(derive_ms, 0.95), 1),
                "max": round(derive_ms[-1], 1),
            },
            "requests_per_page": options["requests"],
            "pages": pages,
            "aim_p95_ms": AIM_P95_MS,
            "pages_over_aim": [name for name, page in pages.items() if page["p95_ms"] > AIM_P95_MS],
            "database": database_label(),
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": [round(load_before, 2), round(load_after, 2)],
            "total_seconds": round(time.monotonic() - started, 1),
        }
        self._print(figures)
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(figures, out, indent=2)

    def _time_pages(self, rng: random.Random, requests: int) -> dict[str, dict[str, Any]]:
        """Each page after a warm-up: one request with its queries captured, then `requests` timed ones."""
        user = get_user_model().objects.create_superuser(username="bench-board", email="bench@example.com")
        changes = list(Change.objects.values_list("pk", flat=True))
        repositories = list(Repository.objects.values_list("pk", "full_name"))
        releases = list(Release.objects.values_list("pk", flat=True))
        people = sorted(
            set(Change.objects.exclude(stage=Stage.CLOSED).values_list("author__login", flat=True)) - {None}
        )
        board = _board_path()
        pages = [
            _Page("board", lambda: board),
            _Page("board htmx refresh", lambda: board, HTMX_REFRESH),
            _Page("board by repository", lambda: f"{board}?repository={rng.choice(repositories)[1]}"),
            _Page("board by person", lambda: f"{board}?person={rng.choice(people)}"),
            _Page("change", lambda: reverse("change", args=[rng.choice(changes)])),
            _Page("repository", lambda: reverse("repository", args=[rng.choice(repositories)[0]])),
            _Page("release", lambda: reverse("release", args=[rng.choice(releases)])),
            _Page("team queues", lambda: reverse("team")),
            _Page("on call", lambda: reverse("on-call")),
        ]
        figures = {}
        # As in production: no query log (DEBUG records every query), templates without debug information.
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts, SECURE_SSL_REDIRECT=False):
            client = Client()
            client.force_login(user)
            gc.collect()
            gc.freeze()  # as delivery/wsgi.py does once the app is loaded, before gunicorn forks its workers
            for page in pages:
                if page.name == "release" and not releases:
                    continue
                for _ in range(max(3, requests // 20)):
                    self._get(client, page)
                executed: list[str] = []

                def count(execute: Any, sql: str, *rest: Any, seen: list[str] = executed) -> Any:
                    seen.append(sql)
                    return execute(sql, *rest)

                # Counted on the connection, not from its query log: the log is cleared when a request starts and
                # holds at most 9,000 queries (the build fills it), so a captured slice of it read 0. The wrapper
                # survives the connection's closing at the request's end.
                with connection.execute_wrapper(count):
                    self._get(client, page)
                queries = len(executed)
                ms, sizes = [], []
                with _FullCollections() as collections:
                    for _ in range(requests):
                        path = page.path()
                        started = time.perf_counter()
                        response = client.get(path, headers=page.headers)
                        ms.append((time.perf_counter() - started) * 1000)
                        self._check(page, path, response)
                        sizes.append(len(response.content))
                ms.sort()
                figures[page.name] = {
                    "requests": len(ms),
                    "p50_ms": round(percentile(ms, 0.5), 1),
                    "p95_ms": round(percentile(ms, 0.95), 1),
                    "max_ms": round(ms[-1], 1),
                    "mean_ms": round(sum(ms) / len(ms), 1),
                    "queries": queries,
                    "full_gc_collections": collections.count,
                    "full_gc_ms": round(collections.ms, 1),
                    "response_kb": round(sum(sizes) / len(sizes) / 1024, 1),
                }
        return figures

    def _get(self, client: Client, page: _Page) -> None:
        path = page.path()
        self._check(page, path, client.get(path, headers=page.headers))

    def _check(self, page: _Page, path: str, response: Any) -> None:
        if response.status_code != 200:
            where = f" -> {response.get('Location')}" if response.has_header("Location") else ""
            raise CommandError(f"{page.name}: GET {path} answered {response.status_code}{where}")
        if page.headers and b"<html" in response.content:
            raise CommandError(f"{page.name}: GET {path} answered the whole page, not the partial")

    def _print(self, f: dict[str, Any]) -> None:
        stages = f["changes_by_stage"]
        in_flight = ", ".join(f"{stages.get(s, 0):,} {label.lower()}" for s, label in Stage.choices if s != Stage.DONE)
        d = f["derive_ms_per_repository"]
        lines = [
            f"bench_board: {f['repositories']} repositories, {f['pull_requests']:,} PRs, {f['deployments']:,} "
            f"deployments on {f['database']}; {f['requests_per_page']} timed requests a page",
            f"  data     {f['changes']:,} changes, {f['releases']:,} releases, {f['main_line_commits']:,} main-line "
            f"commits, {f['reviews']:,} reviews, {f['deployment_statuses']:,} deployment statuses, {f['tags']:,} tags",
            f"           {stages.get(Stage.DONE, 0):,} done; {in_flight}",
            f"  build    {f['build_seconds']:.1f} s (the simulator's world {f['world_seconds']:.1f} s, "
            f"bulk inserts {f['write_seconds']:.1f} s)",
            f"  derive   {f['derive_seconds']:.1f} s for all; per repository p50 {d['p50']:.0f} ms, "
            f"p95 {d['p95']:.0f} ms, max {d['max']:.0f} ms",
            f"  {'page':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'queries':>9}{'KB':>8}"
            f"{'full GCs':>10}",
        ]
        for name, p in f["pages"].items():
            over = f"   << p95 OVER {AIM_P95_MS:.0f} ms" if p["p95_ms"] > AIM_P95_MS else ""
            lines.append(
                f"  {name:<22}{p['requests']:>9}{p['p50_ms']:>9.1f}{p['p95_ms']:>9.1f}{p['max_ms']:>9.1f}"
                f"{p['queries']:>9}{p['response_kb']:>8.1f}"
                f"{p['full_gc_collections']:>4} {p['full_gc_ms']:>5.0f} ms{over}"
            )
        over = f["pages_over_aim"]
        verdict = f"p95 OVER {AIM_P95_MS:.0f} ms: {', '.join(over)}" if over else f"p95 under {AIM_P95_MS:.0f} ms"
        lines.append(f"  {verdict} on every page" if not over else f"  {verdict}")
        lines.append("  (full GCs: the garbage collector's full collections during the timed requests, and their time)")
        before, after = f["load_average_1min"]
        lines.append(
            f"  took {f['total_seconds']:.0f} s in all (Python {f['python']}, Django {f['django']}); "
            f"load average {before:.1f} before the timing, {after:.1f} after, on {f['cpus']} CPUs"
        )
        self.stdout.write("\n".join(lines))
