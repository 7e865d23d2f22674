"""The load generator's deliveries: the simulator's own pull_request payloads, signed, each copy newer than the last
of its pull request, answered and counted as the webhook benchmark reads them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict

from tests.simulator.receiver import Receiver
from tests.simulator.webhook_schemas import errors
from tools.loadgen import run

SECRET = "loadgen-test-secret"


def test_the_load_generator_sends_the_simulators_signed_pull_request_payloads() -> None:
    with Receiver(status=202) as receiver:
        results, acknowledged = run(
            url=receiver.url, secret=SECRET, seconds=1.0, concurrency=2, prs=12, repos=2, timeout=5
        )

    received = receiver.requests
    assert len(received) == results["sent"] == results["acknowledged"] == len(acknowledged) > 12 * 8
    assert results["errors"] == 0 and results["owner"] == "acme"
    assert {r.guid for r in received} == set(acknowledged), "a GUID of its own each, every one acknowledged"
    copies: dict[int, list[str]] = defaultdict(list)
    checked: set[tuple[str, bool]] = set()
    for request in received:
        signature = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Hub-Signature-256"] == f"sha256={signature}"
        assert request.event == "pull_request"
        payload = json.loads(request.body)
        kind = (payload["action"], payload["pull_request"]["merged"])
        if kind not in checked:  # GitHub's schema for each kind once (a check takes a while)
            checked.add(kind)
            assert errors("pull_request", payload["action"], payload) == []
        copies[payload["pull_request"]["id"]].append(payload["pull_request"]["updated_at"])
    assert len(copies) == 12
    assert all(len(set(times)) == len(times) for times in copies.values()), "every copy newer than the last"
    assert {action for action, _ in checked} == {"opened", "synchronize", "edited", "closed", "reopened"}
    assert ("closed", True) in checked and ("closed", False) in checked, "merged now and then"
