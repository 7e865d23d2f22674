"""`python manage.py sync [--repo owner/name]`: the sync engine in the foreground, with a progress bar and
a summary. Rate limits are waited out here (a foreground command may sleep; a worker never does)."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.flows.changes import repository_changed
from delivery.github.client import GitHubClient, GitHubError, GitHubRateLimited, client_from_settings
from delivery.github.members import teams_sync
from delivery.github.models import Repository
from delivery.github.sync import SyncAlreadyRunning, SyncSummary, organization_repositories_sync, repository_sync

BAR_WIDTH = 24


class Command(BaseCommand):
    help = "Sync the organization's repositories (or one) from GitHub in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repo", help="owner/name: sync only this repository")
        parser.add_argument("--org", default=settings.GITHUB_ORG, help="organization (default: GITHUB_ORG)")
        parser.add_argument(
            "--max-waits", type=int, default=20, help="how many rate-limit or outage waits before giving up"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] < 2:
            # Skipped objects are listed in the summary; per-object log lines would bury the progress bar.
            logging.getLogger("delivery").setLevel(logging.WARNING)
        client = client_from_settings()
        total = SyncSummary()
        started = time.monotonic()
        self.waits_left = options["max_waits"]
        try:
            if options["repo"]:
                repository = Repository.objects.filter(full_name__iexact=options["repo"]).first()
                if repository is None:
                    org = options["repo"].split("/")[0]
                    summary, _ = self._with_waits(lambda: organization_repositories_sync(client=client, org=org))
                    total.merge(summary)
                    repository = Repository.objects.filter(full_name__iexact=options["repo"]).first()
                if repository is None:
                    raise CommandError(f"{options['repo']} is not a repository of its organization on GitHub")
                ids = [repository.pk]
            else:
                if not options["org"]:
                    raise CommandError("No organization: set GITHUB_ORG or pass --org.")
                summary, ids = self._with_waits(
                    lambda: organization_repositories_sync(client=client, org=options["org"])
                )
                total.merge(summary)
                self.stdout.write(f"{options['org']}: {len(ids)} repositories to sync")
            for pk in ids:
                total.merge(self._sync_one(client, pk))
            if not options["repo"]:
                teams = self._with_waits(lambda: teams_sync(client))
                self.stdout.write(f"{options['org']}: {teams} team{'s' if teams != 1 else ''} and their members")
        finally:
            client.close()
        total.seconds = time.monotonic() - started
        self._print_summary(total)

    def _sync_one(self, client: GitHubClient, pk: int) -> SyncSummary:
        name = Repository.objects.values_list("full_name", flat=True).get(pk=pk)
        try:
            summary = self._with_waits(
                lambda: repository_sync(repository_id=pk, client=client, trigger="command", progress=self._progress)
            )
        except SyncAlreadyRunning:
            self._end_line()
            self.stdout.write(f"{name}: skipped, a sync of it is already running")
            return SyncSummary(skipped=[f"{name}: a sync was already running"])
        except GitHubError as exc:
            self._end_line()
            self.stderr.write(f"{name}: failed: {exc}")
            return SyncSummary(errors=[f"{name}: {exc}"])
        repository_changed(repository_id=pk)  # the pipeline board shows it right away
        self._end_line()
        self.stdout.write(
            f"{name}: {summary.requests} requests ({summary.not_modified} not modified), "
            f"{summary.created} created, {summary.updated} updated"
        )
        return summary

    def _with_waits(self, call):
        """Run `call`, waiting out rate limits and outages; the sync resumes from its bookmarks."""
        attempt = 0
        while True:
            try:
                return call()
            except GitHubRateLimited as exc:
                wait = exc.wait_seconds
            except GitHubError as exc:
                if exc.permanent:
                    raise
                wait = min(300.0, 2.0 * 2**attempt)
            if self.waits_left <= 0:
                raise CommandError("Gave up after too many waits for GitHub.")
            self.waits_left -= 1
            attempt += 1
            self._end_line()
            self.stdout.write(f"GitHub asks us to wait: resuming in {wait:.0f}s")
            time.sleep(wait)

    def _progress(self, repository: str, resource: str, done: int, total: int | None) -> None:
        if total:
            filled = int(BAR_WIDTH * min(done, total) / total)
            bar = "█" * filled + "·" * (BAR_WIDTH - filled)
            line = f"\r{repository:<28} {resource:<14} {bar} {done}/{total} pages"
        else:
            line = f"\r{repository:<28} {resource:<14} {done} pages"
        if sys.stderr.isatty():
            sys.stderr.write(line.ljust(80))
            sys.stderr.flush()
            self._open_line = True

    def _end_line(self) -> None:
        if getattr(self, "_open_line", False):
            sys.stderr.write("\r" + " " * 80 + "\r")
            self._open_line = False

    def _print_summary(self, total: SyncSummary) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Synced {total.repositories} repositories in {total.seconds:.1f}s: "
                f"{total.requests} requests ({total.not_modified} not modified), "
                f"{total.created} objects created, {total.updated} updated, {total.unchanged} unchanged"
                + (f", {total.malformed} malformed skipped." if total.malformed else ".")
            )
        )
        if total.skipped:
            self.stdout.write(f"Skipped ({len(total.skipped)}):")
            for reason in total.skipped[:20]:
                self.stdout.write(f"  - {reason}")
            if len(total.skipped) > 20:
                self.stdout.write(f"  … and {len(total.skipped) - 20} more")
        if total.errors:
            for error in total.errors:
                self.stderr.write(f"  ! {error}")
