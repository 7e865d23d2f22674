"""The simulated organization: every object, id counters, indexed queries, events and timers.

All reads and mutations happen under ``world.lock``. Mutations go through :mod:`ops`, which bumps
``repo.version`` so the per-repository query caches below stay correct.
"""

from __future__ import annotations

import hashlib
import heapq
import pickle
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .models import Commit, Deployment, Organization, PullRequest, Repository, Team, User, WorkflowRun

# (event, action, payload): GitHub's webhook event name, its action (None for events without one, e.g.
# push/create/delete) and the full webhook payload rendered at the moment of the mutation.
EventListener = Callable[[str, str | None, dict[str, Any]], None]
DEFAULT_PUBLIC_URL = "http://127.0.0.1"

# Scheduled actions are stored as data (name + args) so a pickled world can be restored; dispatch.py
# registers the functions, called as fn(world, due_time, *args).
SCHEDULED_ACTIONS: dict[str, Callable[..., None]] = {}

ID_BASES: dict[str, int] = {
    "user": 1000,
    "team": 100,
    "repo": 500_000,
    "pull": 1_000_000,
    "review": 3_000_000,
    "deployment": 5_000_000,
    "status": 7_000_000,
    "workflow": 900_000,
    "run": 10_000_000,
    "environment": 950_000,
    "release": 12_000_000,
    "hook": 400_000,
}

DEFAULT_SWITCHES: dict[str, bool] = {"fail_next_production_deploy": False, "fail_next_staging_deploy": False}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class World:
    """Everything the simulator serves. Build one with :func:`generate.generate_world`."""

    def __init__(self, org: Organization, seed: int, now: datetime) -> None:
        self.org = org
        self.seed = seed
        self.now = now  # the generation anchor; runtime mutations use clock()
        self.users: dict[int, User] = {}
        self.users_by_login: dict[str, User] = {}
        self.teams: list[Team] = []
        self.repos: dict[str, Repository] = {}  # name -> repo, listing order
        self.bot: User | None = None  # deployment creator (type Bot)
        self.service_account: User | None = None  # what a plain API token acts as
        self.outsider: User | None = None  # can sign in, not an org member
        # Logins of the people who signed in to Trunkline through the OAuth flow: the live activity never acts as
        # them (their own pull requests wait for them; teammates still review and merge what is approved).
        self.signed_in: set[str] = set()
        self.switches: dict[str, bool] = dict(DEFAULT_SWITCHES)
        self.frozen_clock: datetime | None = None
        self.dispatch_step_seconds = 1.0  # pace of what a workflow dispatch sets in motion
        self._ids: dict[str, int] = dict(ID_BASES)
        self._sha_counter = 0
        self._timers: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self._timer_seq = 0
        self.lock = threading.RLock()
        self.listeners: list[EventListener] = []
        # Where the URLs inside webhook payloads point; the server serving this world sets its own address.
        self.public_url = DEFAULT_PUBLIC_URL
        self.payload_renderer: Any = None  # payloads.Payloads, built on first emit (not pickled)

    # -- identity -------------------------------------------------------------------------------
    @property
    def org_login(self) -> str:
        return self.org.login

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def new_sha(self, salt: str = "") -> str:
        self._sha_counter += 1
        return hashlib.sha1(f"{self.seed}:{self._sha_counter}:{salt}".encode(), usedforsecurity=False).hexdigest()

    def clock(self) -> datetime:
        return self.frozen_clock or utcnow()

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        self.users_by_login[user.login.lower()] = user
        return user

    def user(self, login: str) -> User | None:
        return self.users_by_login.get(login.lower())

    @property
    def members(self) -> list[User]:
        return [u for u in self.users.values() if u.is_member]

    def sign_in_record(self, user: User) -> None:
        with self.lock:
            self.signed_in.add(user.login.lower())

    def is_simulated(self, user: User | None) -> bool:
        """Whether the live activity may act as this person: not someone who signed in."""
        return user is not None and user.login.lower() not in self.signed_in

    # -- repositories ---------------------------------------------------------------------------
    def repo(self, name: str) -> Repository | None:
        """A repository reachable through /repos/... (not the deleted one); names are case-insensitive."""
        repo = self.repos.get(name)
        if repo is None:
            repo = next((r for r in self.repos.values() if r.name.lower() == name.lower()), None)
        return None if repo is None or repo.gone else repo

    @property
    def served_repos(self) -> list[Repository]:
        return [r for r in self.repos.values() if not r.gone]

    def touch(self, repo: Repository, at: datetime | None = None) -> None:
        repo.version += 1
        if at is not None and at > repo.updated_at:
            repo.updated_at = at

    def cached(self, repo: Repository, key: Any, build: Callable[[], Any]) -> Any:
        if repo.cache.get("_version") != repo.version:
            repo.cache.clear()
            repo.cache["_version"] = repo.version
        if key not in repo.cache:
            repo.cache[key] = build()
        return repo.cache[key]

    # -- git queries ----------------------------------------------------------------------------
    def resolve_ref(self, repo: Repository, ref: str) -> str | None:
        """A branch, tag, ``heads/x``/``tags/x``/``refs/...`` or (abbreviated) sha -> commit sha."""
        if ref.startswith("refs/"):
            ref = ref[5:]
        if ref.startswith("heads/") and ref[6:] in repo.branches:
            return repo.branches[ref[6:]].sha
        if ref.startswith("tags/") and ref[5:] in repo.tags:
            return repo.tags[ref[5:]].sha
        if ref in repo.branches:
            return repo.branches[ref].sha
        if ref in repo.tags:
            return repo.tags[ref].sha
        if ref in repo.commits:
            return ref
        if 7 <= len(ref) < 40 and all(c in "0123456789abcdef" for c in ref):
            matches = self.cached(repo, ("prefix", ref), lambda: [s for s in repo.commits if s.startswith(ref)])
            if len(matches) == 1:
                return matches[0]
        return None

    def reachable(self, repo: Repository, sha: str) -> list[Commit]:
        """Every commit reachable from ``sha`` (all parents), newest committer date first."""

        def build() -> list[Commit]:
            seen: set[str] = set()
            stack = [sha]
            found: list[Commit] = []
            while stack:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                commit = repo.commits.get(current)
                if commit is None:
                    continue
                found.append(commit)
                stack.extend(commit.parents)
            found.sort(key=lambda c: (c.committed_at, c.sha), reverse=True)
            return found

        return self.cached(repo, ("reachable", sha), build)

    def reachable_set(self, repo: Repository, sha: str) -> frozenset[str]:
        return self.cached(repo, ("reachable_set", sha), lambda: frozenset(c.sha for c in self.reachable(repo, sha)))

    # -- list queries ---------------------------------------------------------------------------
    def pulls(self, repo: Repository, state: str, sort: str, direction: str) -> list[PullRequest]:
        def build() -> list[PullRequest]:
            items = list(repo.pulls.values())  # number order == creation order
            if state in ("open", "closed"):
                items = [p for p in items if p.state == state]
            if sort == "updated":
                items.sort(key=lambda p: (p.updated_at, p.number))
            elif sort == "long-running":
                items.sort(key=lambda p: (p.created_at, p.number), reverse=True)
            if direction == "desc":
                items.reverse()
            return items

        return self.cached(repo, ("pulls", state, sort, direction), build)

    def deployments(self, repo: Repository, filters: tuple[tuple[str, str], ...]) -> list[Deployment]:
        def build() -> list[Deployment]:
            wanted = dict(filters)
            items = [
                d for d in repo.deployments.values() if all(getattr(d, name) == value for name, value in wanted.items())
            ]
            items.reverse()
            return items

        return self.cached(repo, ("deployments", filters), build)

    def runs(
        self,
        repo: Repository,
        filters: tuple[tuple[str, str], ...],
        workflow_id: int | None,
    ) -> list[WorkflowRun]:
        def build() -> list[WorkflowRun]:
            wanted = dict(filters)
            items: list[WorkflowRun] = []
            for run in repo.runs.values():
                if workflow_id is not None and run.workflow.id != workflow_id:
                    continue
                if "branch" in wanted and run.head_branch != wanted["branch"]:
                    continue
                if "event" in wanted and run.event != wanted["event"]:
                    continue
                if "head_sha" in wanted and run.head_sha != wanted["head_sha"]:
                    continue
                if "actor" in wanted and (run.actor is None or run.actor.login != wanted["actor"]):
                    continue
                status = wanted.get("status")
                if status and status not in (run.status, run.conclusion):
                    continue
                items.append(run)
            items.reverse()
            return items

        return self.cached(repo, ("runs", filters, workflow_id), build)

    # -- ground truth ---------------------------------------------------------------------------
    def counts(self, repo_full_name: str | None = None) -> dict[str, int]:
        """What the API serves, for sync tests to compare against."""
        if repo_full_name is None:
            repos = self.served_repos
        else:
            repo = self.repo(repo_full_name.split("/", 1)[-1])
            repos = [repo] if repo is not None and repo_full_name.startswith(f"{self.org_login}/") else []
        totals = {
            "repositories": len(repos),
            "developers": len(self.members),
            "pull_requests": 0,
            "reviews": 0,
            "pull_request_commits": 0,
            "main_commits": 0,
            "tags": 0,
            "deployments": 0,
            "deployment_statuses": 0,
            "workflow_runs": 0,
        }
        for repo in repos:
            totals["pull_requests"] += len(repo.pulls)
            for pull in repo.pulls.values():
                totals["reviews"] += len(pull.reviews)
                totals["pull_request_commits"] += len(pull.commit_shas)
            totals["main_commits"] += len(self.reachable(repo, repo.main_sha))
            totals["tags"] += len(repo.tags)
            totals["deployments"] += len(repo.deployments)
            totals["deployment_statuses"] += sum(len(d.statuses) for d in repo.deployments.values())
            totals["workflow_runs"] += len(repo.runs)
        return totals

    # -- events & timers ------------------------------------------------------------------------
    def emit(self, event: str, action: str | None, payload_builder: Callable[[], dict[str, Any]]) -> None:
        """Report a mutation with GitHub's webhook event name. Webhook delivery subscribes here.

        The payload is built once, now, so every listener sees the state at the moment of the change.
        """
        if not self.listeners:
            return
        payload = payload_builder()
        for listener in list(self.listeners):
            listener(event, action, payload)

    def schedule(self, at: datetime, action: str, *args: Any) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (at, self._timer_seq, action, args))

    def advance(self, now: datetime | None = None) -> int:
        """Run the timers that are due (e.g. a dispatched rollback finishing). Cheap when idle.

        The server runs this on every request and from its timer thread; a test with a frozen clock moves
        ``frozen_clock`` on and calls it (or :meth:`settle`). Once it returns, everything due has run.
        """
        with self.lock:  # even when idle: another thread may be running the last timer right now
            if not self._timers:
                return 0
            now = now or self.clock()
            ran = 0
            while self._timers and self._timers[0][0] <= now:
                due, _, action, args = heapq.heappop(self._timers)
                SCHEDULED_ACTIONS[action](self, due, *args)
                ran += 1
            return ran

    def settle(self, limit: int = 10_000) -> int:
        """Run every pending timer (and those they schedule) in due order, now; returns how many ran.

        A frozen clock is moved to each timer's due time as it runs, so the world ends at the last step's
        time, as if that much time had passed. Live (unfrozen) time is left alone: the steps keep their
        due times, which may be a few seconds ahead of the wall clock.
        """
        ran = 0
        with self.lock:
            while self._timers and ran < limit:
                due = self._timers[0][0]
                if self.frozen_clock is not None and due > self.frozen_clock:
                    self.frozen_clock = due
                ran += self.advance(due)
        return ran

    @property
    def pending_timers(self) -> int:
        return len(self._timers)

    @property
    def next_due(self) -> datetime | None:
        """When the next timer is due (None: nothing in flight)."""
        with self.lock:
            return self._timers[0][0] if self._timers else None

    # -- persistence ----------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("lock", None)
        state["listeners"] = []
        state["payload_renderer"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("public_url", DEFAULT_PUBLIC_URL)
        state.setdefault("payload_renderer", None)
        state.setdefault("signed_in", set())
        self.__dict__.update(state)
        self.lock = threading.RLock()
        for repo in self.repos.values():
            repo.cache = {}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with self.lock:
            caches = {name: repo.cache for name, repo in self.repos.items()}
            try:
                for repo in self.repos.values():
                    repo.cache = {}
                data = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
            finally:
                for name, cache in caches.items():
                    self.repos[name].cache = cache
        tmp.write_bytes(data)
        tmp.replace(path)

    @staticmethod
    def load(path: str | Path) -> World:
        world = pickle.loads(Path(path).read_bytes())  # noqa: S301 - our own state file
        if not isinstance(world, World):
            raise TypeError(f"{path} does not hold a simulator world")
        return world
