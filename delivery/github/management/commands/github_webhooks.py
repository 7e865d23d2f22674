"""`python manage.py github_webhooks install|recover|sweep`: the organization webhook, on GitHub's side.

- install: create (or update) the organization webhook pointing at this Trunkline, with the events it uses
  and the configured secret, and say what was done.
- recover: ask GitHub now to redeliver the failed deliveries we never received (the beat does it every
  WEBHOOK_RECOVERY_MINUTES).
- sweep: queue stored deliveries the broker could not take (the beat does it every minute)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.github.client import GitHubError, client_from_settings, github_credentials_configured
from delivery.github.webhooks import (
    deliveries_sweep,
    failed_deliveries_recover,
    organization_hook_install,
    webhook_url,
)


class Command(BaseCommand):
    help = "Install the organization webhook on GitHub, recover missed deliveries, or queue stored ones."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        install = sub.add_parser("install", help="create or update the organization webhook")
        install.add_argument(
            "--url", default="", help="the webhook URL (default: TRUNKLINE_PUBLIC_URL/webhooks/github/)"
        )
        install.add_argument("--org", default="", help="organization (default: GITHUB_ORG)")
        recover = sub.add_parser("recover", help="ask GitHub to redeliver failed deliveries we do not have")
        recover.add_argument("--org", default="", help="organization (default: GITHUB_ORG)")
        sub.add_parser("sweep", help="queue stored deliveries that were never queued")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sweep":
            self.stdout.write(f"Queued {deliveries_sweep()} stored deliveries.")
            return
        org = options["org"] or settings.GITHUB_ORG
        if not org:
            raise CommandError("No organization: set GITHUB_ORG or pass --org.")
        if not github_credentials_configured():
            raise CommandError(
                "No GitHub credentials: set GITHUB_TOKEN (a token that may manage the organization's webhooks, "
                "scope admin:org_hook) or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY."
            )
        client = client_from_settings()
        try:
            if action == "install":
                self._install(client, org, options["url"])
            else:
                self._recover(client, org)
        except GitHubError as exc:
            raise CommandError(f"GitHub at {settings.GITHUB_API_URL}: {exc}") from exc
        finally:
            client.close()

    def _install(self, client: Any, org: str, url: str) -> None:
        if not settings.GITHUB_WEBHOOK_SECRET:
            raise CommandError("GITHUB_WEBHOOK_SECRET is not set: GitHub would send unsigned deliveries.")
        if not url:
            if not settings.TRUNKLINE_PUBLIC_URL:
                raise CommandError("No webhook URL: set TRUNKLINE_PUBLIC_URL or pass --url.")
            url = webhook_url()
        done = organization_hook_install(client=client, org=org, url=url, secret=settings.GITHUB_WEBHOOK_SECRET)
        verb = {"created": "Created", "updated": "Updated", "unchanged": "Checked (already up to date)"}[done.action]
        self.stdout.write(self.style.SUCCESS(f"{verb} the webhook #{done.hook_id} of {org} → {done.url}"))
        if done.previous_url and done.previous_url != done.url:
            self.stdout.write(f"It pointed at {done.previous_url} before.")
        self.stdout.write(f"Events: {', '.join(done.events)}")
        self.stdout.write("Secret: GITHUB_WEBHOOK_SECRET (sent to GitHub, never shown back)")

    def _recover(self, client: Any, org: str) -> None:
        recovery = failed_deliveries_recover(client=client, org=org)
        if not recovery.hooks:
            raise CommandError(f"{org} has no webhook for {webhook_url()}: run `github_webhooks install` first.")
        self.stdout.write(
            f"Deliveries checked: {recovery.checked} ({recovery.hooks} webhook); failed on GitHub's side: "
            f"{recovery.failed_guids}; redeliveries requested: {recovery.redelivered}"
            + (f"; refused by GitHub: {recovery.refused}" if recovery.refused else "")
        )
