"""`manage.py metrics --from YYYY-MM-DD --to YYYY-MM-DD [--repository owner/name] [--login …] [--bots]`: the API's
JSON, printed."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.metrics.figures import metrics
from delivery.metrics.scope import PERIODS, ScopeError, scope_from


class Command(BaseCommand):
    help = "Print the delivery figures of a period as the API gives them (JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from", help="First day, YYYY-MM-DD (with --to).")
        parser.add_argument("--to", dest="to", help="Last day, YYYY-MM-DD (with --from).")
        parser.add_argument("--period", choices=list(PERIODS), help="Instead of --from/--to (default: 4w).")
        parser.add_argument("--repository", help="One followed repository, owner/name.")
        parser.add_argument("--login", help="One person's figures.")
        parser.add_argument("--bots", action="store_true", help="Count bots' work too.")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {k: options[k] for k in ("from", "to", "period", "repository", "login") if options.get(k)}
        if options["bots"]:
            params["bots"] = "1"
        try:
            scope = scope_from(params)
        except ScopeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(metrics(scope), indent=2, ensure_ascii=False))
