"""A load generator for the GitHub webhook endpoint: signed `pull_request` deliveries, as fast as N senders go.

No Django (the standard library and the GitHub simulator), so it runs as a process of its own next to the server
it measures:

    python -m tools.loadgen --url http://127.0.0.1:8000/webhooks/github/ --secret S \\
        --seconds 30 --concurrency 16 --prs 500 --out var/loadgen.json

Each of the N threads keeps one `http.client.HTTPConnection` (reconnecting when the server closes it, as
gunicorn's sync workers do after every response) and sends one delivery after the other: a unique GUID, the
payload the GitHub simulator's hooks send (about 22 KB, the pull request with its head and base repositories, as
GitHub's), spread round-robin over the `--prs` pull requests of a simulated organization of `--repos` repositories
(the demo's generator), the action cycling opened/synchronize/edited/closed (reopened from the second round) with
an `updated_at` that grows with every delivery. The latency recorded is from sending the
request to having read the whole answer, connection set-up included.

By default each sender sends again as soon as it has its answer (a closed loop: the latency then includes the
wait for a free server worker, and N / throughput bounds it from below); with `--rate R` the deliveries are
due at R a second in all and each latency counts from when its delivery was due (an open loop).

`--out` gets the counts, the status histogram, the latency percentiles and the elapsed time; the acknowledged
(2xx) GUIDs go to `--guids`, one a line."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import hmac
import http.client
import itertools
import json
import os
import resource
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from delivery.simulator.generate import generate_world
from delivery.simulator.payloads import Payloads
from tools.figures import percentile

ACTIONS = ("opened", "synchronize", "edited", "closed")


def _sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


class Deliveries:
    """Delivery number k → (GUID, action, body), about the pull requests of a simulated organization (the GitHub
    simulator's, the demo's generator: `repos` repositories, `prs` pull requests), rendered by the simulator's own
    webhook payloads. Pull request k % prs, round k // prs; `updated_at` grows with k, so each pull request's
    copies are newer in the order they are sent."""

    def __init__(self, *, prs: int, repos: int, start: datetime, seed: int = 1) -> None:
        self.start = start
        world = generate_world(seed=seed, repos=repos, prs=prs, developers=10, quirks=False, now=start)
        self.owner = world.org_login
        self.payloads = Payloads(world)
        self.pulls = [(repo, pr) for repo in world.served_repos for pr in repo.pulls.values()]
        self.counter = itertools.count()
        self.lock = threading.Lock()  # the renderer keeps caches: one delivery rendered at a time

    def next(self) -> tuple[int, str, str, bytes]:
        with self.lock:
            k = next(self.counter)
            action, payload = self.payload(k)
        return k, str(uuid.uuid4()), action, json.dumps(payload, separators=(",", ":")).encode()

    def payload(self, k: int) -> tuple[str, dict[str, Any]]:
        """The k-th delivery: its pull request as it is after that round's action (opened, synchronize with a
        new head, edited, closed and now and then merged; reopened from the second round on)."""
        repo, pr = self.pulls[k % len(self.pulls)]
        cycle = k // len(self.pulls)
        action = ACTIONS[cycle % len(ACTIONS)]
        if action == "opened" and cycle:
            action = "reopened"
        heads = (cycle + 3) // len(ACTIONS)  # a new head at every synchronize
        head_sha = _sha(pr.id, heads) if heads else pr.head_sha
        edits = (cycle + 2) // len(ACTIONS)  # and a new title at every edit
        updated = self.start + timedelta(seconds=k)
        closed = action == "closed"
        merged = closed and cycle % 8 == 3  # every second close is a merge
        merger = pr.requested_reviewers[0] if pr.requested_reviewers else pr.user
        now = dataclasses.replace(
            pr,
            state="closed" if closed else "open",
            draft=False,
            head_sha=head_sha,
            title=_title(pr.title, edits),
            updated_at=updated,
            closed_at=updated if closed else None,
            merged_at=updated if merged else None,
            merged_by=merger if merged else None,
            merge_commit_sha=_sha(head_sha, "merge") if merged else None,
            comments=cycle,
        )
        extra = {"before": _sha(head_sha, "before"), "after": head_sha} if action == "synchronize" else {}
        payload = self.payloads.pull_request(action, repo, now, merger if merged else pr.user, **extra)
        if action == "edited":
            payload["changes"] = {"title": {"from": _title(pr.title, edits - 1)}}
        return action, payload


def _title(title: str, edits: int) -> str:
    return f"{title} (edit {edits})" if edits else title


# -- sending ----------------------------------------------------------------------------------------------------------
class Sender(threading.Thread):
    def __init__(
        self,
        *,
        url: str,
        secret: bytes,
        deliveries: Deliveries,
        started: float,
        deadline: float,
        timeout: float,
        first: float = 0.0,
        interval: float = 0.0,
    ) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path or "/"
        self.secret = secret
        self.deliveries = deliveries
        self.deadline = deadline
        self.timeout = timeout
        # With a rate, this sender's n-th delivery is due at started + first + n * interval, and its latency
        # counts from then (a delivery that had to wait for the previous answer has waited, as GitHub's would).
        self.due = started + first
        self.interval = interval
        self.latencies: list[float] = []
        self.acknowledged: list[str] = []
        self.statuses: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.failures: list[dict[str, Any]] = []
        self.body_bytes = 0
        self.max_body = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            while True:
                if self.interval:
                    now = time.monotonic()
                    if self.due >= self.deadline:
                        break
                    if self.due > now:
                        time.sleep(self.due - now)
                elif time.monotonic() >= self.deadline:
                    break
                _, guid, action, body = self.deliveries.next()
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "GitHub-Hookshot/bench",
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": guid,
                    "X-GitHub-Hook-ID": "424242",
                    "X-GitHub-Hook-Installation-Target-Type": "organization",
                    "X-Hub-Signature-256": "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest(),
                }
                started = time.monotonic()
                if self.interval:
                    started, self.due = min(started, self.due), self.due + self.interval
                try:
                    conn.request("POST", self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    self._failed(guid, f"error:{exc.__class__.__name__}", str(exc))
                    continue
                elapsed = time.monotonic() - started
                self.actions[action] += 1
                self.body_bytes += len(body)
                self.max_body = max(self.max_body, len(body))
                self.statuses[str(response.status)] += 1
                self.latencies.append(elapsed)
                if 200 <= response.status < 300:
                    self.acknowledged.append(guid)
                else:
                    self._failed(guid, str(response.status), answer[:300].decode("utf-8", "replace"))
        finally:
            conn.close()

    def _failed(self, guid: str, status: str, detail: str) -> None:
        if status.startswith("error:"):
            self.statuses[status] += 1
        if len(self.failures) < 20:
            self.failures.append({"guid": guid, "status": status, "detail": detail})


def run(
    *,
    url: str,
    secret: str,
    seconds: float,
    concurrency: int,
    prs: int,
    repos: int,
    timeout: float,
    rate: float = 0.0,
) -> tuple[dict[str, Any], list[str]]:
    deliveries = Deliveries(prs=prs, repos=repos, start=datetime.now(UTC).replace(microsecond=0))
    started_wall, started = time.time(), time.monotonic()
    senders = [
        Sender(
            url=url,
            secret=secret.encode(),
            deliveries=deliveries,
            started=started,
            deadline=started + seconds,
            timeout=timeout,
            first=i / rate if rate else 0.0,
            interval=concurrency / rate if rate else 0.0,
        )
        for i in range(concurrency)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    elapsed = time.monotonic() - started
    ended_wall = time.time()

    latencies = sorted(x for s in senders for x in s.latencies)
    statuses: Counter[str] = sum((s.statuses for s in senders), Counter())
    actions: Counter[str] = sum((s.actions for s in senders), Counter())
    acknowledged = [g for s in senders for g in s.acknowledged]
    answered = len(latencies)
    sent = sum(statuses.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results = {
        "url": url,
        "seconds": seconds,
        "concurrency": concurrency,
        "rate": rate or None,
        "prs": prs,
        "repos": repos,
        "owner": deliveries.owner,
        "started_at": started_wall,
        "ended_at": ended_wall,
        "elapsed_seconds": round(elapsed, 3),
        "sent": sent,
        "answered": answered,
        "acknowledged": len(acknowledged),
        "errors": sent - len(acknowledged),
        "statuses": dict(sorted(statuses.items())),
        "actions": dict(sorted(actions.items())),
        "acknowledged_per_second": round(len(acknowledged) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 2),
            "p90": round(percentile(latencies, 0.90) * 1000, 2),
            "p99": round(percentile(latencies, 0.99) * 1000, 2),
            "max": round((latencies[-1] if latencies else 0.0) * 1000, 2),
            "mean": round(sum(latencies) / answered * 1000, 2) if answered else 0.0,
        },
        "payload_bytes": {
            "mean": round(sum(s.body_bytes for s in senders) / answered) if answered else 0,
            "max": max((s.max_body for s in senders), default=0),
        },
        "failures": [f for s in senders for f in s.failures][:20],
        "loadgen_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
    }
    return results, acknowledged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", required=True, help="the webhook endpoint, e.g. http://127.0.0.1:8000/webhooks/github/"
    )
    parser.add_argument("--secret", default=os.environ.get("GITHUB_WEBHOOK_SECRET", ""), help="the webhook secret")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=16, help="senders, each with one connection")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="deliveries per second in all (open loop, latency counted from when each was due); "
        "0: every sender sends its next delivery as soon as the previous one is answered",
    )
    parser.add_argument("--prs", type=int, default=500, help="pull requests the deliveries are spread over")
    parser.add_argument("--repos", type=int, default=2, help="repositories the pull requests belong to")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a request is given up (GitHub: 10)")
    parser.add_argument("--out", required=True, help="write the results (JSON) here")
    parser.add_argument("--guids", help="write the acknowledged GUIDs here, one a line (default: OUT with .guids)")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or GITHUB_WEBHOOK_SECRET) is required")
    if args.prs < 1 or args.repos < 1 or args.concurrency < 1 or args.rate < 0:
        parser.error("--prs, --repos and --concurrency must be at least 1, --rate 0 or more")

    results, acknowledged = run(
        url=args.url,
        secret=args.secret,
        seconds=args.seconds,
        concurrency=args.concurrency,
        prs=args.prs,
        repos=args.repos,
        timeout=args.timeout,
        rate=args.rate,
    )
    guids_path = args.guids or os.path.splitext(args.out)[0] + ".guids"
    with open(guids_path, "w") as out:
        out.writelines(f"{guid}\n" for guid in acknowledged)
    results["guids_file"] = os.path.abspath(guids_path)
    with open(args.out, "w") as out:
        json.dump(results, out, indent=2)
    latency = results["latency_ms"]
    print(
        f"loadgen: {results['sent']:,} sent in {results['elapsed_seconds']:.1f}s, {results['acknowledged']:,} "
        f"acknowledged ({results['acknowledged_per_second']:,.0f}/s), {results['errors']} errors; latency ms "
        f"p50 {latency['p50']} p90 {latency['p90']} p99 {latency['p99']} max {latency['max']}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
