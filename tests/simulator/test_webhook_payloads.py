"""What the simulator's hooks deliver validates against GitHub's webhook schemas, and is a snapshot."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from datetime import timedelta
from typing import Any

import requests

from delivery.simulator import ops
from delivery.simulator.live import LiveActivity
from delivery.simulator.render import iso
from delivery.simulator.server import SimulatorServer

from .conftest import NOW
from .receiver import Received, Receiver
from .webhook_schemas import errors

SECRET = "payload-test-secret"
# Every event/action the simulator emits; the ones live ticks never produce are driven through ops below.
EXPECTED = {
    ("ping", None), ("push", None), ("create", None), ("delete", None), ("pull_request", "opened"),
    ("pull_request", "synchronize"), ("pull_request", "ready_for_review"), ("pull_request", "converted_to_draft"),
    ("pull_request", "closed"), ("pull_request", "reopened"), ("pull_request_review", "submitted"),
    ("deployment", "created"), ("deployment_status", "created"), ("workflow_run", "requested"),
    ("workflow_run", "in_progress"), ("workflow_run", "completed"), ("release", "created"),
    ("release", "published"), ("release", "released"),
}  # fmt: skip


def _action(received: Received) -> str | None:
    return received.payload.get("action") if received.event not in ("push", "create", "delete", "ping") else None


def _drive_the_rest(server: SimulatorServer, http: requests.Session) -> None:
    """Closed without merge, converted to draft, reopened, a deleted tag, and an annotated tag and a branch made
    through the API."""
    world = server.world
    with world.lock:
        repo = world.repo("api")
        assert repo is not None
        pr = next(p for p in reversed(repo.pulls.values()) if p.state == "open")
        at = world.clock()
        ops.convert_to_draft(world, repo, pr, at, pr.user)
        ops.close_pull(world, repo, pr, at, pr.user)
        ops.reopen_pull(world, repo, pr, at, pr.user)
        ops.delete_tag(world, repo, next(iter(repo.tags)), at, world.bot)
        sha = repo.main_sha
    api = f"{server.api_url}/repos/acme/api"
    tag = http.post(f"{api}/git/tags", json={"tag": "v9.9.9", "message": "Nine", "object": sha, "type": "commit"})
    assert http.post(f"{api}/git/refs", json={"ref": "refs/tags/v9.9.9", "sha": tag.json()["sha"]}).ok
    assert http.post(f"{api}/git/refs", json={"ref": "refs/heads/hotfix/webhooks", "sha": sha}).ok


def test_every_delivery_from_live_activity_validates_against_githubs_webhook_schema(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    with Receiver() as receiver:
        hook = {"config": {"url": receiver.url, "secret": SECRET, "content_type": "json"}, "events": ["*"]}
        assert http.post(f"{fresh_server.api_url}/orgs/acme/hooks", json=hook).status_code == 201
        live = LiveActivity(fresh_server.world)
        for _ in range(60):
            live.tick()
        live.close()
        _drive_the_rest(fresh_server, http)
        fresh_server.webhooks.flush(timeout=30)
        received = list(receiver.requests)

    problems: list[str] = []
    for delivery in received:
        expected = "sha256=" + hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        if delivery.headers["X-Hub-Signature-256"] != expected:
            problems.append(f"{delivery.event}: bad signature")
        problems += errors(delivery.event, _action(delivery), delivery.payload)
    kinds = Counter((d.event, _action(d)) for d in received)
    assert set(kinds) == EXPECTED, f"missing {EXPECTED - set(kinds)}, unexpected {set(kinds) - EXPECTED}"
    refs = {(d.event, d.payload["ref_type"]) for d in received if d.event in ("create", "delete")}
    assert refs == {(event, kind) for event in ("create", "delete") for kind in ("branch", "tag")}
    assert problems == [], f"{len(problems)} problems, e.g.\n" + "\n".join(sorted(set(problems))[:30])
    assert len(received) == len(fresh_server.webhooks.log) == fresh_server.webhooks.sent


def test_push_payloads_follow_githubs_push_format(fresh_server: SimulatorServer, http: requests.Session) -> None:
    world = fresh_server.world
    payloads: list[tuple[str, str | None, dict[str, Any]]] = []
    world.listeners.append(lambda e, a, p: payloads.append((e, a, p)))
    api = f"{fresh_server.api_url}/repos/acme/api"
    with world.lock:
        repo = world.repo("api")
        assert repo is not None
        main_sha = repo.main_sha
        dev = world.members[0]
    tag = http.post(f"{api}/git/tags", json={"tag": "v7.0.0", "message": "Seven", "object": main_sha, "type": "commit"})
    http.post(f"{api}/git/refs", json={"ref": "refs/tags/v7.0.0", "sha": tag.json()["sha"]})
    with world.lock:
        commit = ops.create_commit(world, repo, author=dev, committer=dev, message="Fix it", at=world.clock(),
                                   parents=(main_sha,), files=("app/fix.py",))  # fmt: skip
        ops.push(world, repo, repo.default_branch, [commit], world.clock(), dev)

    tag_push = next(p for e, _, p in payloads if e == "push" and p["ref"] == "refs/tags/v7.0.0")
    assert tag_push["after"] == tag.json()["sha"] != main_sha, "an annotated tag's ref points at the tag object"
    assert tag_push["head_commit"]["id"] == main_sha and tag_push["commits"] == []
    assert tag_push["created"] is True and tag_push["before"] == "0" * 40 and tag_push["base_ref"] == "refs/heads/main"
    main_push = next(p for e, _, p in payloads if e == "push" and p["ref"] == "refs/heads/main")
    assert (main_push["before"], main_push["after"]) == (main_sha, commit.sha)
    assert main_push["compare"].endswith(f"/acme/api/compare/{main_sha[:12]}...{commit.sha[:12]}")
    pushed = main_push["commits"][0]
    assert pushed["id"] == commit.sha and pushed["distinct"] is True and pushed["modified"] == ["app/fix.py"]
    assert pushed["author"] == {"name": dev.name, "email": dev.email, "username": dev.login}
    assert main_push["pusher"] == {"name": dev.login, "email": dev.email} and main_push["head_commit"] == pushed
    assert isinstance(main_push["repository"]["pushed_at"], int)
    assert main_push["repository"]["organization"] == "acme" and "enterprise" not in main_push
    assert all("action" not in p for e, _, p in payloads if e in ("push", "create"))


def test_ref_changes_carry_their_own_time_as_repository_pushed_at(fresh_server: SimulatorServer) -> None:
    world = fresh_server.world
    seen: list[tuple[str, dict[str, Any]]] = []
    world.listeners.append(lambda e, a, p: seen.append((e, p)))
    with world.lock:
        repo = world.repo("api")
        assert repo is not None
        created, deleted, tagged = (NOW + timedelta(days=30, minutes=m) for m in (1, 2, 3))
        ops.create_branch(world, repo, "feature/time", repo.main_sha, created, world.bot)
        ops.delete_branch(world, repo, "feature/time", deleted, world.bot)
        ops.create_tag(world, repo, "v8.0.0", repo.main_sha, tagged, world.bot)
    times = [(e, p["repository"]["pushed_at"]) for e, p in seen]
    assert times == [
        ("create", iso(created)), ("push", int(created.timestamp())),
        ("delete", iso(deleted)), ("push", int(deleted.timestamp())),
        ("create", iso(tagged)), ("push", int(tagged.timestamp())),
    ]  # fmt: skip
    deletion = seen[3][1]
    assert deletion["deleted"] is True and deletion["after"] == "0" * 40 and deletion["head_commit"] is None


def test_payloads_are_snapshots_of_the_moment_of_the_event(fresh_server: SimulatorServer) -> None:
    world, webhooks = fresh_server.world, fresh_server.webhooks
    with Receiver() as receiver:
        with world.lock:
            fresh_server.api.install_org_hook(receiver.url, None)
        webhooks.flush()
        with webhooks.paused():
            with world.lock:
                repo = world.repo("api")
                assert repo is not None
                dev, reviewer = world.members[:2]
                ops.create_branch(world, repo, "snap/shot", repo.main_sha, world.clock(), dev)
                commit = ops.create_commit(world, repo, author=dev, committer=dev, message="Snap", at=world.clock(),
                                           parents=(repo.main_sha,))  # fmt: skip
                ops.push(world, repo, "snap/shot", [commit], world.clock(), dev)
                pr = ops.open_pull(world, repo, branch_name="snap/shot", author=dev, title="Snap", body="",
                                   at=world.clock())  # fmt: skip
                ops.submit_review(world, repo, pr, reviewer, "APPROVED", world.clock())
                ops.merge_pull(world, repo, pr, dev, world.clock())
            assert receiver.requests[1:] == [] and webhooks.pending > 0
        webhooks.flush()
        delivered = {(r.event, r.payload.get("action")): r.payload for r in receiver.requests}
    opened = delivered[("pull_request", "opened")]["pull_request"]
    assert opened["state"] == "open" and opened["merged"] is False and opened["merged_at"] is None
    assert delivered[("pull_request_review", "submitted")]["review"]["state"] == "approved"
    closed = delivered[("pull_request", "closed")]["pull_request"]
    assert closed["merged"] is True and closed["merge_commit_sha"] == repo.main_sha
