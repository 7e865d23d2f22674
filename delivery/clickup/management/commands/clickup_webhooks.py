"""`python manage.py clickup_webhooks install|list|remove|sweep`: the workspace's webhook, on ClickUp's side.

- install: register the webhook (POST /team/{team_id}/webhook) to TRUNKLINE_PUBLIC_URL/webhooks/clickup/ with the
  events Trunkline uses, and print the secret ClickUp returned, once, for the operator to set as
  CLICKUP_WEBHOOK_SECRET (ClickUp never shows it again). One already there is left alone unless --replace.
- list: the workspace's webhooks this token made.
- remove: delete the webhook to this Trunkline (or the one --id names).
- sweep: queue stored deliveries the broker could not take (beat does it every WEBHOOK_SWEEP_SECONDS)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.clickup.client import ClickUpClient, ClickUpError, configured
from delivery.clickup.webhooks import EVENTS, QUEUE, Installed, webhook_install, webhook_url


class Command(BaseCommand):
    help = "Register ClickUp's webhook to this Trunkline (and print its secret), list or remove it, queue deliveries."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        install = sub.add_parser("install", help="register the workspace's webhook and print its secret")
        install.add_argument("--url", default="", help="the endpoint (default: TRUNKLINE_PUBLIC_URL/webhooks/clickup/)")
        install.add_argument(
            "--replace", action="store_true", help="delete a webhook already there and make a new one (a new secret)"
        )
        sub.add_parser("list", help="the workspace's webhooks this token made")
        remove = sub.add_parser("remove", help="delete the webhook to this Trunkline")
        remove.add_argument("--url", default="", help="the endpoint (default: TRUNKLINE_PUBLIC_URL/webhooks/clickup/)")
        remove.add_argument("--id", default="", help="the webhook's id instead of its endpoint")
        sub.add_parser("sweep", help="queue stored deliveries that were never queued")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sweep":
            self.stdout.write(f"Queued {QUEUE.sweep()} stored ClickUp deliveries.")
            return
        if not configured():
            raise CommandError("ClickUp is not configured: set CLICKUP_TOKEN and CLICKUP_TEAM_ID.")
        client = ClickUpClient.from_settings()
        try:
            if action == "install":
                self._install(client, self._endpoint(options["url"]), replace=options["replace"])
            elif action == "list":
                self._list(client)
            else:
                self._remove(client, options["id"] or "", options["url"])
        except ClickUpError as exc:
            raise CommandError(f"ClickUp at {settings.CLICKUP_API_URL}: {exc}") from exc

    def _endpoint(self, url: str) -> str:
        if url:
            return url
        if not settings.TRUNKLINE_PUBLIC_URL:
            raise CommandError("No endpoint: set TRUNKLINE_PUBLIC_URL or pass --url.")
        return webhook_url()

    def _install(self, client: ClickUpClient, endpoint: str, *, replace: bool) -> None:
        done = webhook_install(client=client, endpoint=endpoint, replace=replace)
        if not isinstance(done, Installed):
            self.stdout.write(
                f"The workspace already has webhook {done.id} to {endpoint} (events: {', '.join(done.events)}); its "
                "secret was shown when it was made. Pass --replace to make a new one with a new secret."
            )
            return
        for old in done.replaced:
            self.stdout.write(f"Deleted the earlier webhook {old} to {endpoint}.")
        self.stdout.write(self.style.SUCCESS(f"Created ClickUp webhook {done.webhook_id} → {endpoint}"))
        self.stdout.write(f"Events: {', '.join(EVENTS)}")
        self.stdout.write("Set this secret in Trunkline's environment (ClickUp shows it only now):")
        self.stdout.write(f"CLICKUP_WEBHOOK_SECRET={done.secret}")

    def _list(self, client: ClickUpClient) -> None:
        hooks = client.webhooks()
        if not hooks:
            self.stdout.write("No webhooks in the workspace.")
        for hook in hooks:
            self.stdout.write(f"{hook.id}  {hook.endpoint}  ({', '.join(hook.events)})")

    def _remove(self, client: ClickUpClient, webhook_id: str, url: str) -> None:
        if not webhook_id:
            endpoint = self._endpoint(url)
            ids = [hook.id for hook in client.webhooks() if hook.endpoint == endpoint]
            if not ids:
                raise CommandError(f"No webhook to {endpoint} in the workspace.")
        else:
            ids = [webhook_id]
        for hook_id in ids:
            client.webhook_delete(webhook_id=hook_id)
            self.stdout.write(f"Deleted ClickUp webhook {hook_id}.")
