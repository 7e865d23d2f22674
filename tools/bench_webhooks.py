"""`python -m tools bench_webhooks`: signed `pull_request` deliveries at the webhook endpoint for 30 seconds.

gunicorn (sync workers, production settings) serves the endpoint on loopback, a Celery worker processes the
deliveries from a queue of its own, and the load generator (`tools/loadgen.py`, no Django) sends from a separate
process with N connections. Printed: deliveries acknowledged per second, the latency of
the acknowledgement (GitHub gives up after 10 s; the aim is a p99 under 50 ms), and whether every acknowledged
delivery was stored and processed exactly once, once the worker has drained the queue. Exits non-zero when a
check fails. `make bench-webhooks` runs it on PostgreSQL and Redis when they answer, else on SQLite and the
filesystem broker."""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Max, Min, Q

from delivery.core.processes import Children, free_port, wait_for_port
from delivery.github.models import PullRequest, WebhookDelivery
from tools.figures import database_label, percentile

Outcome = WebhookDelivery.Outcome


class Command(BaseCommand):
    help = "Benchmark the GitHub webhook endpoint: gunicorn + Celery worker + a load generator process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seconds", type=float, default=30.0, help="how long the load generator sends")
        parser.add_argument("--concurrency", type=int, default=16, help="load generator connections")
        parser.add_argument(
            "--rate",
            type=float,
            default=0.0,
            help="deliveries/s in all, an open loop (default 0: each connection sends again once answered)",
        )
        cpus = os.cpu_count() or 2
        parser.add_argument("--web-workers", type=int, default=cpus, help="gunicorn sync workers (default: CPUs)")
        parser.add_argument(
            "--worker-concurrency", type=int, default=cpus, help="Celery worker threads (default: CPUs)"
        )
        parser.add_argument("--prs", type=int, default=500, help="pull requests the deliveries are spread over")
        parser.add_argument("--repos", type=int, default=2)
        parser.add_argument(
            "--stall-timeout",
            type=float,
            default=60.0,
            help="stop waiting for the worker when it has processed nothing for this many seconds",
        )
        parser.add_argument("--json", dest="json_path", help="also write the figures to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        if WebhookDelivery.objects.exists():
            raise CommandError(
                "bench_webhooks needs an empty webhook delivery table (make bench-webhooks uses its own database)."
            )
        run_id = secrets.token_hex(4)
        queue = f"bench-webhooks-{run_id}"
        env = {
            **os.environ,
            # Production settings, as gunicorn and the worker run them, with this run's secret and queue.
            "DEBUG": "0",
            "TRUNKLINE_DEMO": "0",
            "SECRET_KEY": f"bench-webhooks-{secrets.token_hex(24)}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "GITHUB_WEBHOOK_SECRET": secrets.token_hex(20),
            "GITHUB_ORG": "",
            "GITHUB_TOKEN": "",
            "GITHUB_APP_ID": "",
            "CELERY_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
        }
        children = Children()
        # A SIGTERM stops the children too (Ctrl-C does through KeyboardInterrupt).
        previous = signal.signal(signal.SIGTERM, _terminated)
        out_dir = Path(settings.VAR_DIR)
        loadgen_out = out_dir / "bench-webhooks-loadgen.json"
        port = free_port()
        access_log = children.log_dir / "bench-web-access.log"
        access_log.unlink(missing_ok=True)
        try:
            web = children.python(
                "bench-web",
                [
                    "-m",
                    "gunicorn",
                    "delivery.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(options["web_workers"]),
                    "--access-logfile",
                    str(access_log),
                    # Status, the time gunicorn spent on the request (ms) and the delivery's GUID.
                    "--access-logformat",
                    "%(s)s %(M)s %({x-github-delivery}i)s",
                ],
                env=env,
            )
            worker_log = children.log_dir / "bench-worker.log"
            log_offset = worker_log.stat().st_size if worker_log.exists() else 0
            worker = children.python(
                "bench-worker",
                [
                    "-m",
                    "celery",
                    "-A",
                    "delivery",
                    "worker",
                    "-Q",
                    queue,
                    "--hostname",
                    f"bench-{run_id}@%h",
                    "--pool",
                    "threads",
                    "--concurrency",
                    str(options["worker_concurrency"]),
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "INFO",  # as the Procfile runs it; and "ready." tells when it listens
                ],
                env=env,
            )
            wait_for_port(port, process=web, timeout=60)
            _wait_for_log(worker_log, log_offset, b" ready.", process=worker, timeout=60)
            _warm_up(f"http://127.0.0.1:{port}/healthz", options["web_workers"])
            self.stderr.write(f"gunicorn ({options['web_workers']} workers) and the Celery worker are ready")

            loadgen_out.unlink(missing_ok=True)
            loadgen = children.python(
                "bench-loadgen",
                [
                    "-m",
                    "tools.loadgen",
                    "--url",
                    f"http://127.0.0.1:{port}/webhooks/github/",
                    "--secret",
                    env["GITHUB_WEBHOOK_SECRET"],
                    "--seconds",
                    str(options["seconds"]),
                    "--concurrency",
                    str(options["concurrency"]),
                    "--rate",
                    str(options["rate"]),
                    "--prs",
                    str(options["prs"]),
                    "--repos",
                    str(options["repos"]),
                    "--out",
                    str(loadgen_out),
                ],
                env=env,
            )
            self._wait_for_load(loadgen, children, options["seconds"])
            if loadgen.returncode != 0 or not loadgen_out.exists():
                raise CommandError(f"the load generator failed; see {children.log_dir}/bench-loadgen.log")
            load = json.loads(loadgen_out.read_text())
            drained = self._drain(load, children, options["stall_timeout"])
            figures = self._figures(load, drained, options)
            figures["server_ms"] = _server_times(access_log)
        finally:
            children.stop()
            signal.signal(signal.SIGTERM, previous)
        self._print(figures)
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(figures, out, indent=2)
        if figures["failed_checks"]:
            raise CommandError("failed: " + "; ".join(figures["failed_checks"]))

    def _wait_for_load(self, loadgen: Any, children: Children, seconds: float) -> None:
        started = time.monotonic()
        next_report = started + 5
        while loadgen.poll() is None:
            dead = [name for name in children.dead() if name != "bench-loadgen"]
            if dead:
                raise CommandError(f"{', '.join(dead)} stopped during the load; see {children.log_dir}/")
            if time.monotonic() > started + seconds + 120:
                raise CommandError("the load generator did not finish")
            if time.monotonic() >= next_report:
                next_report += 5
                self.stderr.write(f"  {time.monotonic() - started:4.0f}s  {_progress()}")
            time.sleep(0.2)

    def _drain(self, load: dict[str, Any], children: Children, timeout: float) -> bool:
        """Wait until every stored delivery is processed (or failed); False when the worker stalls."""
        last_open, last_progress = -1, time.monotonic()
        next_report = time.monotonic() + 5
        while True:
            counts = _outcomes()
            open_ = counts.get(Outcome.PENDING, 0) + counts.get(Outcome.PROCESSING, 0)
            if open_ == 0 and sum(counts.values()) >= load["acknowledged"]:
                return True
            if open_ != last_open:
                last_open, last_progress = open_, time.monotonic()
            elif time.monotonic() > last_progress + timeout:
                self.stderr.write(f"  the worker processed nothing for {timeout:.0f}s: {_progress()}")
                return False
            if "bench-worker" in children.dead():
                raise CommandError(f"the Celery worker stopped; see {children.log_dir}/bench-worker.log")
            if time.monotonic() >= next_report:
                next_report += 5
                self.stderr.write(f"  draining  {_progress()}")
            time.sleep(0.25)

    def _figures(self, load: dict[str, Any], drained: bool, options: dict[str, Any]) -> dict[str, Any]:
        acknowledged = set(Path(load["guids_file"]).read_text().split())
        rows = WebhookDelivery.objects.values_list("guid", "outcome", "attempts")
        stored = {guid: (outcome, attempts) for guid, outcome, attempts in rows.iterator(chunk_size=5000)}
        missing = len(acknowledged - stored.keys())
        unexpected = len(stored.keys() - acknowledged)
        processed = sum(1 for guid in acknowledged if stored.get(guid, ("", 0))[0] == Outcome.PROCESSED)
        repeated = sum(1 for _, attempts in stored.values() if attempts > 1)
        exactly_once = processed == len(acknowledged) and repeated == 0
        outcomes = _outcomes()
        times = WebhookDelivery.objects.aggregate(
            first_received=Min("received_at"),
            first_started=Min("processing_started_at"),
            last_processed=Max("processed_at"),
        )
        last_processed: datetime | None = times["last_processed"]
        drain_seconds = max(0.0, last_processed.timestamp() - load["ended_at"]) if last_processed else None
        work_seconds = (
            (last_processed - times["first_started"]).total_seconds()
            if last_processed and times["first_started"]
            else 0.0
        )
        stale = WebhookDelivery.objects.filter(result__contains="an older copy").count()
        checks = {
            "no errors (every delivery answered 2xx)": load["errors"] == 0,
            "every acknowledged delivery stored": missing == 0,
            "nothing stored that was not acknowledged": unexpected == 0,
            "every delivery processed": drained and processed == len(acknowledged),
            "no delivery attempted twice (attempts == 1)": repeated == 0,
        }
        latency = load["latency_ms"]
        return {
            "rate": load["rate"],
            "seconds": load["elapsed_seconds"],
            "concurrency": load["concurrency"],
            "web_workers": options["web_workers"],
            "worker_concurrency": options["worker_concurrency"],
            "cpus": os.cpu_count(),
            "pull_requests": load["prs"],
            "repositories": load["repos"],
            "payload_bytes_mean": load["payload_bytes"]["mean"],
            "sent": load["sent"],
            "acknowledged": load["acknowledged"],
            "acknowledged_per_second": load["acknowledged_per_second"],
            "latency_ms": latency,
            "p99_under_50ms": latency["p99"] < 50,
            "errors": load["errors"],
            "statuses": load["statuses"],
            "failures": load["failures"],
            "stored": len(stored),
            "stored_missing": missing,
            "stored_unexpected": unexpected,
            "outcomes": outcomes,
            "processed": processed,
            "processed_exactly_once": exactly_once,
            "attempted_more_than_once": repeated,
            "stale_copies_not_applied": stale,
            "pull_requests_stored": PullRequest.objects.filter(repository__owner=load["owner"]).count(),
            "drain_seconds": round(drain_seconds, 2) if drain_seconds is not None else None,
            "worker_seconds": round(work_seconds, 2),
            "worker_per_second": round(processed / work_seconds, 1) if work_seconds else None,
            "loadgen_cpu_seconds": load["loadgen_cpu_seconds"],
            "database": database_label(),
            "broker": _broker(),
            "failed_checks": [name for name, ok in checks.items() if not ok],
        }

    def _print(self, f: dict[str, Any]) -> None:
        lat, srv = f["latency_ms"], f["server_ms"]
        load = f"{f['rate']:,.0f} deliveries/s due" if f["rate"] else f"{f['concurrency']} connections"
        drain = f"{f['drain_seconds']:.1f} s" if f["drain_seconds"] is not None else "n/a"
        per_second = f"{f['worker_per_second']:,.0f}/s" if f["worker_per_second"] else "n/a"
        verdict = "PASS" if not f["failed_checks"] else "FAIL: " + "; ".join(f["failed_checks"])
        statuses = ", ".join(f"{k}: {v:,}" for k, v in f["statuses"].items())
        self.stdout.write(
            f"bench_webhooks: {f['seconds']:.0f} s of signed pull_request deliveries, {load} "
            f"-> gunicorn {f['web_workers']} sync workers; Celery {f['worker_concurrency']} threads; {f['cpus']} CPUs\n"
            f"  database {f['database']}, broker {f['broker']}; {f['pull_requests']} PRs in {f['repositories']} "
            f"repositories, {f['payload_bytes_mean']:,} bytes a payload\n"
            f"  acknowledged   {f['acknowledged']:>8,}  ({f['acknowledged_per_second']:,.0f} deliveries/s)   "
            f"errors {f['errors']}  [{statuses}]\n"
            f"  latency ms     p50 {lat['p50']:.1f}   p90 {lat['p90']:.1f}   p99 {lat['p99']:.1f}   "
            f"max {lat['max']:.1f}   (p99 {'under' if f['p99_under_50ms'] else 'OVER'} 50 ms)\n"
            f"  in gunicorn ms p50 {srv['p50']:.0f}   p90 {srv['p90']:.0f}   p99 {srv['p99']:.0f}   "
            f"max {srv['max']:.0f}   (the rest is waiting for a free web worker, and the network)\n"
            f"  stored         {f['stored']:>8,}  "
            f"(missing {f['stored_missing']}, unexpected {f['stored_unexpected']})\n"
            f"  processed      {f['processed']:>8,}  exactly once: {'yes' if f['processed_exactly_once'] else 'NO'} "
            f"({f['stale_copies_not_applied']:,} older copies not applied; {f['pull_requests_stored']} PRs stored)\n"
            f"  worker         drained {drain} after the load ended; {per_second} over {f['worker_seconds']:.1f} s\n"
            f"  {verdict}"
        )


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _outcomes() -> dict[str, int]:
    return dict(
        WebhookDelivery.objects.order_by().values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n")
    )


def _progress() -> str:
    counts = WebhookDelivery.objects.aggregate(
        stored=Count("pk"),
        open=Count("pk", filter=Q(outcome__in=[Outcome.PENDING, Outcome.PROCESSING])),
        failed=Count("pk", filter=Q(outcome=Outcome.FAILED)),
    )
    done = counts["stored"] - counts["open"]
    return f"stored {counts['stored']:,}, processed {done:,}, waiting {counts['open']:,}, failed {counts['failed']}"


def _server_times(access_log: Path) -> dict[str, float]:
    """Percentiles of the time gunicorn's workers spent on the deliveries (ms, from the access log)."""
    times: list[float] = []
    with access_log.open() as log:
        for line in log:
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                times.append(float(parts[1]))
    times.sort()
    return {
        "p50": percentile(times, 0.5),
        "p90": percentile(times, 0.9),
        "p99": percentile(times, 0.99),
        "max": times[-1] if times else 0.0,
    }


def _wait_for_log(path: Path, offset: int, marker: bytes, *, process: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            with path.open("rb") as log:
                log.seek(offset)
                if marker in log.read():
                    return
        if process.poll() is not None:
            raise CommandError(f"{path.stem} exited with {process.returncode}; see {path}")
        time.sleep(0.2)
    raise CommandError(f"{path.stem} was not ready within {timeout:.0f}s; see {path}")


def _warm_up(url: str, workers: int) -> None:
    """A few rounds of concurrent health checks, so every gunicorn worker has loaded the app and connected."""

    def get() -> None:
        for _ in range(5):
            try:
                with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback
                    answer.read()
            except OSError:
                time.sleep(0.2)

    threads = [threading.Thread(target=get) for _ in range(workers * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _broker() -> str:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("filesystem"):
        return "filesystem (kombu)"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return "Redis " + urlunsplit((parts.scheme, netloc, parts.path, "", ""))
