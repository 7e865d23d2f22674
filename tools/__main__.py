"""`python -m tools COMMAND [options]`: the benchmarks, with Django set up as `manage.py` sets it up.

They are Django commands (options, `--help`, errors in words) kept out of the product's apps, so production's
INSTALLED_APPS and `manage.py help` know nothing of them. The tools that need no Django run on their own:
`python -m tools.loadgen`, `python -m tools.slack_server`."""

from __future__ import annotations

import importlib
import os
import sys

COMMANDS = {
    "bench_board": "the pipeline pages' server time on a large simulated organization",
    "bench_derive": "the derivation per repository, full and per beat tick, at a history size",
    "bench_metrics": "the metrics page and API on a quarter of a simulated organization",
    "bench_report": "building one week's report over a simulated organization",
    "bench_sync": "a sync of a simulated organization from scratch",
    "bench_webhooks": "the webhook endpoint under load: gunicorn, a Celery worker and the load generator",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        listed = "\n".join(f"  {name:<16}{what}" for name, what in COMMANDS.items())
        print(f"usage: python -m tools COMMAND [options]  (COMMAND --help for its options)\n{listed}", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delivery.settings")
    import django

    django.setup()
    command = importlib.import_module(f"tools.{argv[0]}").Command()
    command.run_from_argv(["python -m tools", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
