"""`python -m tools bench_board`: the pipeline pages' server time on a large simulated organization.

The mirror is written straight to the database (bulk inserts, no simulator, no sync): a year of squash merges on
each repository's main line, a realistic handful of pull requests in flight, staging and production deployments
with their statuses, release tags, previews. Then the derivation runs for every repository, as the periodic task
does, and each page is requested in-process through the whole Django stack (middleware, sign-in, templates) with
the test client, signed in as a superuser. Printed: p50/p95/max server time per page, queries per request and the
response size; the aim is a p95 under 100 ms. `make bench-board` runs it on PostgreSQL when it answers."""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.github.models import (
    Branch,
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    Tag,
)
from delivery.pipeline.models import Change, Release, Stage
from delivery.pipeline.services import repository_derive
from tools.figures import database_label, percentile

AIM_P95_MS = 100.0
HISTORY_DAYS = 365
BATCH = 2000
MINUTE = timedelta(minutes=1)
# fmt: off
FIRST_NAMES = ["ana", "ben", "chloe", "dev", "eli", "fatima", "gus", "hana", "ivan", "jo", "kai", "lena", "mo", "nina",
               "omar", "pia", "quinn", "rosa", "sam", "tao", "uma", "vic"]
LAST_NAMES = ["silva", "okafor", "novak", "tanaka", "berg", "costa", "haddad", "ito", "klein", "lund", "moreau",
              "patel", "reyes", "sato", "vance", "weber"]
VERBS = ["Add", "Fix", "Speed up", "Retry", "Validate", "Cache", "Log", "Refactor", "Remove", "Paginate", "Rename",
         "Document", "Harden", "Batch"]
THINGS = ["webhook ingest", "invoice export", "search results", "login redirect", "rate limiter", "checkout totals",
          "user settings page", "background sync", "CSV import", "audit log", "email digest", "feature flags",
          "API pagination", "health check", "billing retries", "report filters"]
# fmt: on
HTMX_REFRESH = {"HX-Request": "true", "HX-Target": "board-columns", "HX-Trigger": "board-columns"}


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` shared in proportion to `weights`, exactly (largest remainders get the leftovers)."""
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _board_path() -> str:
    """The pipeline board: `board` once `/` leads each person to their own queue, `home` before."""
    try:
        return reverse("board")
    except NoReverseMatch:
        return reverse("home")


@dataclass
class _Mirror:
    """The rows of the simulated organization, written in foreign-key order."""

    pull_requests: list[PullRequest] = field(default_factory=list)
    pr_commits: list[PullRequestCommit] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    statuses: list[DeploymentStatus] = field(default_factory=list)

    def write(self) -> None:
        PullRequest.objects.bulk_create(self.pull_requests, batch_size=BATCH)
        Commit.objects.bulk_create(self.commits, batch_size=BATCH)
        Branch.objects.bulk_create(self.branches, batch_size=BATCH)
        Tag.objects.bulk_create(self.tags, batch_size=BATCH)
        Deployment.objects.bulk_create(self.deployments, batch_size=BATCH)
        for row in self.pr_commits + self.reviews:
            row.pull_request_id = row.pull_request.pk  # the pull requests have their keys now
        for status in self.statuses:
            status.deployment_id = status.deployment.pk
        PullRequestCommit.objects.bulk_create(self.pr_commits, batch_size=BATCH)
        Review.objects.bulk_create(self.reviews, batch_size=BATCH)
        DeploymentStatus.objects.bulk_create(self.statuses, batch_size=BATCH)


class _Organization:
    """Builds the mirror of one simulated organization, repository by repository, from a seeded random."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.start = now - timedelta(days=HISTORY_DAYS)
        self.ids = itertools.count(5_000_000)
        self.rows = _Mirror()

    def _sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def _between(self, lo: datetime, hi: datetime) -> datetime:
        return lo + (hi - lo) * self.rng.random()

    def repository(self, repo: Repository, team: list[Developer], bot: Developer, n_prs: int, n_deps: int) -> None:
        rng, now = self.rng, self.now
        open_cap = n_prs // 6
        n_draft = min(rng.randint(1, 3), open_cap // 2)
        n_review = min(rng.randint(3, 6), open_cap - n_draft)
        n_closed = n_prs * 4 // 100
        n_merged = n_prs - n_draft - n_review - n_closed
        # The main line's tail, newest last: tagged, on staging, merged but not yet deployed; the rest is released.
        tail = n_merged // 3
        k_tagged = min(rng.randint(0, 2), tail)
        k_staging = min(rng.randint(0, 3), tail - k_tagged)
        k_merged = min(rng.randint(0, 3), tail - k_tagged - k_staging)
        released = n_merged - k_tagged - k_staging - k_merged
        in_window = rng.random() < 0.06  # a production deploy in the last half hour: its changes are being watched
        last_release = now - (
            timedelta(minutes=rng.uniform(3, 25)) if in_window else timedelta(hours=rng.uniform(1, 96))
        )
        merged_at = sorted(self._between(self.start, last_release - 90 * MINUTE) for _ in range(released))
        tail_from = min(last_release + 5 * MINUTE, now - 60 * MINUTE)
        merged_at += sorted(self._between(tail_from, now - 2 * MINUTE) for _ in range(n_merged - released))

        specs: list[dict[str, Any]] = [
            {"position": p, "merged_at": at, "created_at": at - timedelta(hours=min(240, rng.lognormvariate(1.6, 1)))}
            for p, at in enumerate(merged_at, start=1)
        ]
        for _ in range(n_closed):
            opened = self._between(self.start, now - timedelta(days=2))
            specs.append({"created_at": opened, "closed_at": opened + timedelta(hours=rng.uniform(1, 240))})
        specs += [{"created_at": now - timedelta(hours=rng.uniform(0.5, 120)), "draft": True} for _ in range(n_draft)]
        specs += [{"created_at": now - timedelta(hours=rng.uniform(0.5, 96))} for _ in range(n_review)]
        specs.sort(key=lambda s: s["created_at"])

        main = [self._sha() for _ in range(n_merged + 1)]  # by position; 0 is the first commit
        self.rows.commits.append(
            Commit(
                repository=repo,
                sha=main[0],
                message="Initial commit",
                authored_at=self.start - timedelta(days=1),
                committed_at=self.start - timedelta(days=1),
                main_position=0,
            )
        )
        prs = [self._pull_request(repo, team, bot, number, spec, main) for number, spec in enumerate(specs, start=1)]
        self._deployments(
            repo, team, n_deps, main, [self.start, *merged_at], prs, last_release, (released, k_tagged, k_staging)
        )

    def _pull_request(
        self,
        repo: Repository,
        team: list[Developer],
        bot: Developer,
        number: int,
        spec: dict[str, Any],
        main: list[str],
    ) -> PullRequest:
        rng, rows = self.rng, self.rows
        author = bot if rng.random() < 0.03 else rng.choice(team)
        reviewers = [d for d in team if d != author]
        if author.is_bot:
            title = (
                f"Bump {rng.choice(['django', 'celery', 'requests', 'pillow'])} to {rng.randint(2, 9)}.{number % 20}"
            )
            head_ref = f"dependabot/pip/bump-{number}"
        else:
            title = f"{rng.choice(VERBS)} {rng.choice(THINGS)}"
            head_ref = f"{author.login}/{title.lower().replace(' ', '-')}-{number}"
        merged, closed_at = spec.get("merged_at"), spec.get("closed_at", spec.get("merged_at"))
        end = closed_at or self.now
        head_sha = self._sha()
        pr = PullRequest(
            github_id=next(self.ids),
            repository=repo,
            number=number,
            title=title,
            author=author,
            state=PullRequest.State.CLOSED if closed_at else PullRequest.State.OPEN,
            draft=spec.get("draft", False),
            html_url=f"{repo.html_url}/pull/{number}",
            head_ref=head_ref,
            head_sha=head_sha,
            base_ref="main",
            created_at=spec["created_at"],
            updated_at=end,
            closed_at=closed_at,
            merged_at=merged,
            merge_commit_sha=main[spec["position"]] if merged else "",
            merged_by=author if merged else None,
            additions=rng.randint(1, 400),
            deletions=rng.randint(0, 200),
            changed_files=rng.randint(1, 20),
            details_synced_for=end,
        )
        rows.pull_requests.append(pr)
        first_commit = spec["created_at"] - timedelta(hours=rng.expovariate(1 / 6))
        n_commits = rng.randint(1, 3)
        for i in range(n_commits):
            at = self._between(first_commit, spec["created_at"]) if i else first_commit
            sha = head_sha if i == n_commits - 1 else self._sha()
            rows.pr_commits.append(
                PullRequestCommit(
                    pull_request=pr, sha=sha, message=title, author=author, authored_at=at, committed_at=at
                )
            )
        if merged:
            if rng.random() < 0.3:
                self._review(
                    pr, rng.choice(reviewers), Review.State.COMMENTED, self._between(spec["created_at"], merged)
                )
            if rng.random() < 0.95:  # now and then a change is merged without an approval
                self._review(
                    pr, rng.choice(reviewers), Review.State.APPROVED, self._between(spec["created_at"], merged)
                )
            parents = [main[spec["position"] - 1]] + ([head_sha] if rng.random() < 0.02 else [])  # a merge commit
            rows.commits.append(
                Commit(
                    repository=repo,
                    sha=main[spec["position"]],
                    message=f"{title} (#{number})",
                    author=author,
                    author_name=author.name,
                    authored_at=merged,
                    committed_at=merged,
                    parent_shas=parents,
                    first_parent_sha=parents[0],
                    main_position=spec["position"],
                    html_url=f"{repo.html_url}/commit/{main[spec['position']]}",
                )
            )
        elif not closed_at and not pr.draft and rng.random() < 0.5:
            state = rng.choice([Review.State.COMMENTED, Review.State.CHANGES_REQUESTED])
            self._review(pr, rng.choice(reviewers), state, self._between(spec["created_at"], self.now))
        deleted = rng.random() < 0.96 if merged else bool(closed_at) and rng.random() < 0.5
        rows.branches.append(
            Branch(
                repository=repo,
                name=head_ref,
                head_sha=head_sha,
                first_seen_at=first_commit,
                head_updated_at=spec["created_at"],
                deleted_at=end + timedelta(minutes=rng.uniform(0, 10)) if deleted else None,
            )
        )
        return pr

    def _review(self, pr: PullRequest, reviewer: Developer, state: str, at: datetime) -> None:
        self.rows.reviews.append(
            Review(
                github_id=next(self.ids),
                pull_request=pr,
                author=reviewer,
                state=state,
                commit_sha=pr.head_sha,
                submitted_at=at,
                html_url=f"{pr.html_url}#pullrequestreview-{pr.number}",
            )
        )

    def _deploy(
        self, repo: Repository, creator: Developer, environment: str, sha: str, ref: str, at: datetime, **extra: Any
    ) -> Deployment:
        """A deployment whose latest status is `state` at `at` (queued a few minutes before)."""
        state = extra.pop("state", "success")
        created = at - timedelta(minutes=self.rng.uniform(2, 8))
        url = extra.pop("environment_url", "")
        deployment = Deployment(
            github_id=next(self.ids),
            repository=repo,
            environment=environment,
            original_environment=environment,
            sha=sha,
            ref=ref,
            creator=creator,
            production_environment=environment == repo.production_environment,
            transient_environment=environment.startswith("pr-"),
            created_at=created,
            updated_at=at,
            state=state,
            state_at=at,
            environment_url=url,
            log_url=f"{repo.html_url}/actions/runs/{next(self.ids)}",
            **extra,
        )
        self.rows.deployments.append(deployment)
        for status, status_at in (("in_progress", created + timedelta(seconds=20)), (state, at)):
            self.rows.statuses.append(
                DeploymentStatus(
                    github_id=next(self.ids),
                    deployment=deployment,
                    state=status,
                    environment_url=url if status == "success" else "",
                    log_url=deployment.log_url,
                    creator=creator,
                    created_at=status_at,
                )
            )
        return deployment

    def _deployments(
        self,
        repo: Repository,
        team: list[Developer],
        n_deps: int,
        main: list[str],
        merged: list[datetime],
        prs: list[PullRequest],
        last_release: datetime,
        line: tuple[int, int, int],
    ) -> None:
        """Production releases spread over the released part of the main line (each staged and tagged first, some
        after a failed attempt, one now and then rolled back), the tail staged and tagged, previews of the newest
        pull requests; `n_deps` deployments in all."""
        rng, now = self.rng, self.now
        released, k_tagged, k_staging = line  # positions 1..released are in production, then the tail

        def who() -> Developer:
            return rng.choice(team)

        ready = [pr for pr in prs if pr.state == PullRequest.State.OPEN and not pr.draft]
        targets = ready + sorted((pr for pr in prs if pr.merged_at), key=lambda pr: pr.merged_at, reverse=True)
        n_preview = min(n_deps // 10, len(targets))
        n_production = n_deps * 2 // 5 if released else 0
        extra_failures = n_production // 25
        rollback = n_production >= 20 and rng.random() < 0.3
        tail_failed = bool(k_tagged) and n_production >= 3 and rng.random() < 0.3
        n_releases = min(released, n_production - extra_failures - rollback - tail_failed)
        n_staging = n_deps - n_preview - n_releases - extra_failures - rollback - tail_failed

        positions = [*sorted(rng.sample(range(1, released), n_releases - 1)), released] if n_releases else []
        release_at: list[datetime] = []
        for j, p in enumerate(positions):  # in order, each an hour or so after its newest change merged
            at = merged[p] + timedelta(minutes=rng.uniform(40, 80))
            at = max(at, release_at[-1] + 10 * MINUTE) if release_at else at
            release_at.append(min(at, last_release - (len(positions) - j) * MINUTE))
        if release_at:
            release_at[-1] = last_release
        successes: dict[str, list[Deployment]] = {"staging": [], "production": []}
        staging_left = n_staging
        top = released + k_tagged + k_staging
        staged_top_at = None
        if top > released and staging_left:
            staged_top_at = self._between(merged[top], now)
            successes["staging"].append(self._deploy(repo, who(), "staging", main[top], "main", staged_top_at))
            staging_left -= 1
        tag_names = [f"v1.{j // 10}.{j % 10}" for j in range(n_releases + 1)]
        failing = set(rng.sample(range(n_releases - 1), min(extra_failures, max(0, n_releases - 1))))
        for j in reversed(range(n_releases)):
            p, at = positions[j], release_at[j]
            gap = at - merged[p]
            tagged = merged[p] + gap * rng.uniform(0.5, 0.8)
            if staging_left:
                staged = merged[p] + gap * rng.uniform(0.1, 0.4)
                successes["staging"].append(self._deploy(repo, who(), "staging", main[p], "main", staged))
                staging_left -= 1
            self.rows.tags.append(
                Tag(repository=repo, name=tag_names[j], sha=main[p], created_at=tagged, last_pushed_at=tagged)
            )
            if j in failing:
                self._deploy(
                    repo, who(), "production", main[p], tag_names[j], tagged + (at - tagged) / 2, state="failure"
                )
            successes["production"].append(self._deploy(repo, who(), "production", main[p], tag_names[j], at))
            if rollback and j == n_releases // 2 and 0 < j < n_releases - 1:
                back = at + (release_at[j + 1] - at) * 0.3
                successes["production"].append(
                    self._deploy(
                        repo, who(), "production", main[positions[j - 1]], tag_names[j - 1], back, is_rollback=True
                    )
                )
                rollback = False
        if rollback:  # no room for it: a failed attempt instead, to keep the count
            self._deploy(
                repo,
                who(),
                "production",
                main[released],
                tag_names[n_releases - 1],
                release_at[-1] - MINUTE,
                state="failure",
            )
        if k_tagged:
            p = released + k_tagged
            tagged = self._between(max(staged_top_at or merged[p], merged[p]), now)
            self.rows.tags.append(
                Tag(repository=repo, name=tag_names[-1], sha=main[p], created_at=tagged, last_pushed_at=tagged)
            )
            if tail_failed:
                self._deploy(
                    repo, who(), "production", main[p], tag_names[-1], self._between(tagged, now), state="failure"
                )
        for _ in range(staging_left):  # more staging deploys between the releases
            p = rng.randint(0, max(released, top))
            at = min(now - MINUTE, merged[p] + timedelta(minutes=rng.uniform(10, 60)))
            successes["staging"].append(self._deploy(repo, who(), "staging", main[p], "main", at))
        for pr in targets[:n_preview]:
            at = (
                self._between(pr.created_at, pr.merged_at or now) if pr.merged_at else self._between(pr.created_at, now)
            )
            env = f"pr-{pr.number}"
            self._deploy(
                repo, pr.author, env, pr.head_sha, pr.head_ref, at, environment_url=f"https://{env}.preview.example.com"
            )
        # GitHub marks a deployment inactive when a later one of its environment succeeds.
        for deployments in successes.values():
            deployments.sort(key=lambda d: d.state_at)
            for older, newer in itertools.pairwise(deployments):
                older.state, older.state_at = "inactive", newer.state_at
                self.rows.statuses.append(
                    DeploymentStatus(
                        github_id=next(self.ids), deployment=older, state="inactive", created_at=newer.state_at
                    )
                )


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
        parser.add_argument("--deployments", type=int, default=5_000)
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
        build_started = time.monotonic()
        self._build(rng, options)
        build_seconds = time.monotonic() - build_started
        self.stderr.write(f"built the mirror in {build_seconds:.1f}s; deriving")
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
            "build_seconds": round(build_seconds, 1),
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

    def _build(self, rng: random.Random, options: dict[str, Any]) -> None:
        now = timezone.now()
        n_repos = options["repos"]
        names = [f"{first}-{last}" for last in LAST_NAMES for first in FIRST_NAMES]
        people = [
            Developer(
                github_id=1_000 + i,
                login=names[i % len(names)] + (str(i // len(names)) if i >= len(names) else ""),
                avatar_url=f"https://avatars.githubusercontent.com/u/{1_000 + i}?v=4",
            )
            for i in range(max(6, n_repos * 3))  # teams of 5 to 9 drawn from three people per repository
        ]
        bot = Developer(github_id=49_699_333, login="dependabot[bot]", is_bot=True)
        Developer.objects.bulk_create([*people, bot])
        people = list(Developer.objects.filter(is_bot=False).order_by("github_id"))
        bot = Developer.objects.get(is_bot=True)
        Repository.objects.bulk_create(
            Repository(
                github_id=2_000_000 + i,
                owner="acme",
                name=f"service-{i:02d}",
                full_name=f"acme/service-{i:02d}",
                html_url=f"https://github.com/acme/service-{i:02d}",
                created_at=now - timedelta(days=HISTORY_DAYS + 30),
                pushed_at=now,
            )
            for i in range(n_repos)
        )
        repositories = list(Repository.objects.order_by("github_id"))
        weights = [rng.uniform(0.5, 1.5) for _ in repositories]  # some repositories are busier than others
        org = _Organization(rng, now)
        for repo, n_prs, n_deps in zip(
            repositories, _split(options["prs"], weights), _split(options["deployments"], weights), strict=True
        ):
            team = rng.sample(people, min(len(people), rng.randint(5, 9)))
            org.repository(repo, team, bot, n_prs, n_deps)
        org.rows.write()

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
                with CaptureQueriesContext(connection) as captured:
                    self._get(client, page)
                queries = len(captured)
                reset_queries()
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
            f"  build    {f['build_seconds']:.1f} s (bulk inserts)",
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
