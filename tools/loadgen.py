"""A load generator for the GitHub webhook endpoint: signed `pull_request` deliveries, as fast as N senders go.

Standard library only (no Django), so it runs as a process of its own next to the server it measures:

    python -m tools.loadgen --url http://127.0.0.1:8000/webhooks/github/ --secret S \\
        --seconds 30 --concurrency 16 --prs 500 --out var/loadgen.json

Each of the N threads keeps one `http.client.HTTPConnection` (reconnecting when the server closes it, as
gunicorn's sync workers do after every response) and sends one delivery after the other: a unique GUID, a
payload shaped like GitHub's (about 12 KB; GitHub's own are often larger), spread round-robin over `--prs` pull
requests of `--repos` repositories, the action cycling opened/synchronize/edited/closed (reopened from the
second round) with an `updated_at` that grows with every delivery. The latency recorded is from sending the
request to having read the whole answer, connection set-up included.

By default each sender sends again as soon as it has its answer (a closed loop: the latency then includes the
wait for a free server worker, and N / throughput bounds it from below); with `--rate R` the deliveries are
due at R a second in all and each latency counts from when its delivery was due (an open loop).

`--out` gets the counts, the status histogram, the latency percentiles and the elapsed time; the acknowledged
(2xx) GUIDs go to `--guids`, one a line."""

from __future__ import annotations

import argparse
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

from tools.figures import percentile

ACTIONS = ("opened", "synchronize", "edited", "closed")
OWNER_ID = 90_000_001
REPO_ID_BASE = 900_000_000
PR_ID_BASE = 9_000_000_000
USER_ID_BASE = 91_000_000
USERS = 40


# -- payloads ---------------------------------------------------------------------------------------------------------
def _user(login: str, user_id: int, kind: str = "User") -> dict[str, Any]:
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind,
        "site_admin": False,
    }


_REPO_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


def _repository(owner: dict[str, Any], index: int, created: datetime) -> dict[str, Any]:
    name = f"service-{index + 1}"
    full_name = f"{owner['login']}/{name}"
    api = f"https://api.github.com/repos/{full_name}"
    return {
        "id": REPO_ID_BASE + index,
        "node_id": f"R_kgDO{REPO_ID_BASE + index}",
        "name": name,
        "full_name": full_name,
        "private": True,
        "owner": owner,
        "html_url": f"https://github.com/{full_name}",
        "description": f"Benchmark repository {index + 1}",
        "fork": False,
        "url": api,
        **{field: api + suffix for field, suffix in _REPO_URLS.items()},
        "created_at": _iso(created),
        "updated_at": _iso(created),
        "pushed_at": _iso(created),
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"https://github.com/{full_name}.git",
        "svn_url": f"https://github.com/{full_name}",
        "homepage": None,
        "size": 2048,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": False,
        "has_downloads": True,
        "has_wiki": False,
        "has_pages": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": 12,
        "license": None,
        "allow_forking": False,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private",
        "forks": 0,
        "open_issues": 12,
        "watchers": 0,
        "default_branch": "main",
        "custom_properties": {},
    }


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


class Deliveries:
    """Delivery number k → (GUID, body). Pull request k % prs, round k // prs; `updated_at` grows with k, so
    each pull request's copies are newer in the order they are sent."""

    def __init__(self, *, prs: int, repos: int, owner: str, start: datetime) -> None:
        self.prs = prs
        self.start = start
        self.owner = _user(owner, OWNER_ID, "Organization")
        self.repositories = [_repository(self.owner, i, start - timedelta(days=400)) for i in range(repos)]
        self.users = [_user(f"dev-{i + 1:02d}", USER_ID_BASE + i) for i in range(USERS)]
        self.bot = _user("bench-bot[bot]", USER_ID_BASE + USERS, "Bot")
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def next(self) -> tuple[int, str, str, bytes]:
        with self.lock:
            k = next(self.counter)
        action, payload = self.payload(k)
        return k, str(uuid.uuid4()), action, json.dumps(payload, separators=(",", ":")).encode()

    def payload(self, k: int) -> tuple[str, dict[str, Any]]:
        pr_index, cycle = k % self.prs, k // self.prs
        action = ACTIONS[cycle % len(ACTIONS)]
        if action == "opened" and cycle:
            action = "reopened"
        repository = self.repositories[pr_index % len(self.repositories)]
        number = pr_index // len(self.repositories) + 1
        author = self.users[pr_index % len(self.users)]
        created = self.start - timedelta(days=2, minutes=self.prs - pr_index)
        updated = self.start + timedelta(seconds=k)
        closed = action == "closed"
        merged = closed and cycle % 8 == 3  # every second close is a merge
        head_sha = _sha(repository["id"], number, cycle // len(ACTIONS), "synchronize" if cycle % 4 else "")
        base_sha = _sha(repository["id"], "main", cycle)
        head_ref = f"{author['login']}/change-{number}"
        api = f"{repository['url']}/pulls/{number}"
        html = f"{repository['html_url']}/pull/{number}"
        pull_request = {
            "url": api,
            "id": PR_ID_BASE + repository["id"] % 1000 * 1_000_000 + number,
            "node_id": f"PR_kwDO{repository['id']}{number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{repository['url']}/issues/{number}",
            "number": number,
            "state": "closed" if closed else "open",
            "locked": False,
            "title": f"Change {number}: tighten the {('retry', 'cache', 'deploy', 'review')[number % 4]} path",
            "user": author,
            "body": "Why: the old path retried forever.\n\nWhat: a bounded retry with jitter, and a test.",
            "created_at": _iso(created),
            "updated_at": _iso(updated),
            "closed_at": _iso(updated) if closed else None,
            "merged_at": _iso(updated) if merged else None,
            "merge_commit_sha": _sha(head_sha, "merge") if merged else None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self.users[(pr_index + 1) % len(self.users)]],
            "requested_teams": [],
            "labels": [],
            "milestone": None,
            "draft": False,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{repository['url']}/pulls/comments{{/number}}",
            "comments_url": f"{repository['url']}/issues/{number}/comments",
            "statuses_url": f"{repository['url']}/statuses/{head_sha}",
            "head": {
                "label": f"{self.owner['login']}:{head_ref}",
                "ref": head_ref,
                "sha": head_sha,
                "user": self.owner,
            },
            "base": {"label": f"{self.owner['login']}:main", "ref": "main", "sha": base_sha, "user": self.owner},
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": f"{repository['url']}/issues/{number}"},
                "comments": {"href": f"{repository['url']}/issues/{number}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {"href": f"{repository['url']}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": f"{repository['url']}/statuses/{head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "active_lock_reason": None,
            "merged": merged,
            "mergeable": None,
            "rebaseable": None,
            "mergeable_state": "unknown",
            "merged_by": self.bot if merged else None,
            "comments": cycle,
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1 + cycle // len(ACTIONS),
            "additions": 10 + number % 200,
            "deletions": number % 50,
            "changed_files": 1 + number % 9,
        }
        payload = {
            "action": action,
            "number": number,
            "pull_request": pull_request,
            "repository": repository,
            "organization": {"login": self.owner["login"], "id": OWNER_ID, "url": self.owner["url"]},
            "sender": author,
        }
        if action == "synchronize":
            payload["before"], payload["after"] = _sha(head_sha, "before"), head_sha
        return action, payload


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
    owner: str,
    timeout: float,
    rate: float = 0.0,
) -> tuple[dict[str, Any], list[str]]:
    deliveries = Deliveries(prs=prs, repos=repos, owner=owner, start=datetime.now(UTC).replace(microsecond=0))
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
        "owner": owner,
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
    parser.add_argument("--owner", default="bench-org", help="the organization owning the repositories")
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
        owner=args.owner,
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
