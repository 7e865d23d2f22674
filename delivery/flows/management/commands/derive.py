"""`python manage.py derive --all | owner/name …`: derive repositories' whole history again (changes, releases, and
what follows), as the first derivation did. The beat and the webhooks derive only what changed
(delivery.pipeline.derive_scope); this is for what that cannot see (docs there) and after a fix to the derivation."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.flows.changes import repository_changed
from delivery.github.models import Repository


class Command(BaseCommand):
    help = "Derive the changes and releases of repositories from their whole mirrored history again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repos", nargs="*", help="owner/name of each repository to derive")
        parser.add_argument("--all", action="store_true", help="every followed repository")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["repos"]):
            raise CommandError("name repositories (owner/name) or give --all")
        if options["all"]:
            repositories = list(Repository.objects.filter(is_active=True, unavailable_reason="").order_by("full_name"))
        else:
            repositories = []
            for name in options["repos"]:
                repository = Repository.objects.filter(full_name__iexact=name).first()
                if repository is None:
                    raise CommandError(f"{name} is not a repository Trunkline knows")
                repositories.append(repository)
        for repository in repositories:
            started = time.monotonic()
            summary = repository_changed(repository_id=repository.pk, full=True)
            self.stdout.write(
                f"{repository.full_name}: {summary.changes} changes ({summary.changes_written} written), "
                f"{summary.releases} releases ({summary.releases_written} written) "
                f"in {time.monotonic() - started:.2f} s"
            )
