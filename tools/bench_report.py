"""`python -m tools bench_report`: building one week's report over a large simulated organization.

The organization is built as `bench_metrics` builds it (the GitHub simulator's world, default 50 repositories and
20,000 PRs over 13 weeks, written straight into the mirror and derived). Then the report of the week just ended is
built (every section, the five keys over five weeks, talking points), built again (the same content: the stored
one is kept), and its page is requested. Printed: time and SQL statements of each. `make bench-report` runs it on
PostgreSQL when it answers."""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from delivery.github.models import PullRequest, Repository
from delivery.pipeline.models import Change, Release
from delivery.reports.services import report_build
from delivery.reports.weeks import week_just_ended
from tools.figures import database_label, measured
from tools.world_mirror import organization_derived


class Command(BaseCommand):
    help = "Benchmark building one week's report over a simulated organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repos", type=int, default=50)
        parser.add_argument("--prs", type=int, default=20_000)
        parser.add_argument("--deployments", type=int, default=5_000, help="about this many")
        parser.add_argument("--weeks", type=int, default=13)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if Repository.objects.exists() or Change.objects.exists():
            raise CommandError("bench_report needs an empty database (make bench-report uses a database of its own).")
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        build_seconds = organization_derived(
            repos=options["repos"],
            prs=options["prs"],
            deployments=options["deployments"],
            weeks=options["weeks"],
            seed=options["seed"],
        )
        week = week_just_ended(timezone.now())
        self.stderr.write(f"built and derived in {build_seconds:.1f}s; building the report of {week.label}")
        first, first_ms, first_queries = measured(lambda: report_build(week=week))
        again, again_ms, again_queries = measured(lambda: report_build(week=week))
        user = get_user_model().objects.create_user("bench-report")
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts, SECURE_SSL_REDIRECT=False):
            client = Client()
            client.force_login(user)
            client.get(f"/reports/{week.label}/")
            page, page_ms, page_queries = measured(lambda: client.get(f"/reports/{week.label}/"))
        assert page.status_code == 200, page.status_code
        document = first.report.figures
        figures = {
            "week": week.label,
            "repositories": Repository.objects.count(),
            "pull_requests": PullRequest.objects.count(),
            "changes": Change.objects.count(),
            "releases": Release.objects.count(),
            "week_releases": document["shipped"]["releases"],
            "week_changes": document["shipped"]["changes"],
            "snapshot_kb": round(len(json.dumps(document)) / 1024, 1),
            "build": {"ms": first_ms, "queries": first_queries, "created": first.created},
            "rebuild_unchanged": {"ms": again_ms, "queries": again_queries, "created": again.created},
            "page": {"ms": page_ms, "queries": page_queries},
            "build_seconds": round(build_seconds, 1),
            "database": database_label(),
            "python": sys.version.split()[0],
            "django": django.get_version(),
        }
        self.stdout.write(json.dumps(figures, indent=2))
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(figures, out, indent=2)
