"""Command-line runner shared by ``python -m delivery.simulator`` and ``manage.py simulator``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any, TextIO

from .live import LiveActivity, load_or_generate
from .server import SimulatorServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repos", type=int, default=4, help="active repositories")
    parser.add_argument("--developers", type=int, default=10)
    parser.add_argument("--weeks", type=int, default=6, help="weeks of history")
    parser.add_argument("--prs", type=int, default=None, help="pull requests in total (default: realistic)")
    parser.add_argument(
        "--deployments", type=int, default=None, help="about this many deployments (default: every merge deploys)"
    )
    parser.add_argument("--no-quirks", action="store_true", help="leave out the odd cases the sync must survive")
    parser.add_argument("--live", action="store_true", help="keep producing activity")
    parser.add_argument("--tick-seconds", type=float, default=20.0, help="live mode: seconds between steps")
    parser.add_argument(
        "--dispatch-step-seconds",
        type=float,
        default=3.0,
        help="pace of a dispatched workflow or an API-created deployment (queued, in_progress, done)",
    )
    parser.add_argument("--state-file", default=None, help="load the world from here, save it after every tick")
    parser.add_argument("--hourly-budget", type=int, default=5000, help="API requests per hour per token")
    parser.add_argument("--graphql-budget", type=int, default=5000, help="GraphQL points per hour per token")
    parser.add_argument("--oauth-client-id", default="trunkline-demo")
    parser.add_argument("--oauth-client-secret", default="trunkline-demo-secret")
    parser.add_argument(
        "--webhook-url", default=None, help="deliver every event to this URL (an organization hook, created at start)"
    )
    parser.add_argument("--webhook-secret", default=None, help="sign those deliveries with this secret")


def run(options: Mapping[str, Any], out: TextIO | Any = None, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set). ``options`` uses the argparse dest names."""
    out = out or sys.stdout
    world = load_or_generate(
        options.get("state_file"),
        seed=options["seed"],
        repos=options["repos"],
        developers=options["developers"],
        weeks=options["weeks"],
        prs=options.get("prs"),
        deployments=options.get("deployments"),
        quirks=not options.get("no_quirks", False),
    )
    world.dispatch_step_seconds = float(options.get("dispatch_step_seconds") or 3.0)
    live = (
        LiveActivity(world, interval=options["tick_seconds"], state_file=options.get("state_file"))
        if options.get("live")
        else None
    )
    server = SimulatorServer(
        world,
        host=options["host"],
        port=options["port"],
        hourly_budget=options["hourly_budget"],
        graphql_budget=options.get("graphql_budget") or 5000,
        oauth_client_id=options["oauth_client_id"],
        oauth_client_secret=options["oauth_client_secret"],
        live=live,
        webhook_url=options.get("webhook_url"),
        webhook_secret=options.get("webhook_secret"),
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    server.start()
    if live is not None:
        live.start()
    with world.lock:
        counts = world.counts()
        active = sum(1 for r in world.served_repos if not r.archived)
    out.write(
        f"GitHub simulator: {server.url} (org {world.org_login}, {active} repositories, "
        f"{counts['pull_requests']} pull requests)\n"
    )
    if options.get("webhook_url"):
        signed = "signed" if options.get("webhook_secret") else "unsigned"
        out.write(f"Webhooks: every event to {options['webhook_url']} ({signed})\n")
    out.flush()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            live.close()
        server.stop()
        if options.get("state_file"):
            world.save(options["state_file"])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.simulator", description="Run the GitHub simulator.")
    add_arguments(parser)
    return run(vars(parser.parse_args(argv)))
