"""The ClickUp client against the stand-in: a real HTTP server, nothing mocked."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from delivery.clickup.client import (
    ClickUpClient,
    ClickUpError,
    ClickUpUnavailable,
    NotConfigured,
    RateLimited,
    TaskNotFound,
    configured,
)
from delivery.clickup.references import TaskReference
from tools.clickup_server import ClickUpServer


def test_a_task_is_read_by_its_clickup_id(clickup: ClickUpServer) -> None:
    task = ClickUpClient.from_settings().task(TaskReference("86b0x1y30"))
    assert (task.id, task.custom_id, task.name, task.status) == (
        "86b0x1y30",
        "PRJ-2",
        "Export the invoices as CSV",
        "review",
    )
    assert task.assignees == ["Grace Hopper"]
    assert task.url == "https://app.clickup.com/t/9012345/PRJ-2"


def test_a_custom_id_is_read_in_the_workspace(clickup: ClickUpServer) -> None:
    task = ClickUpClient.from_settings().task(TaskReference("PRJ-4", custom=True))
    assert task.id == "86b0x1y32" and task.assignees == ["Alan Turing", "Ada Lovelace"]
    assert "custom_task_ids=true&team_id=9012345" in clickup.requests[-1].path


def test_the_token_goes_in_the_authorization_header_as_it_is(clickup: ClickUpServer, settings: object) -> None:
    with pytest.raises(ClickUpError) as refused:
        ClickUpClient(token="wrong", team_id="9012345", api_url=clickup.url).task(TaskReference("86b0x1y30"))
    assert refused.value.permanent and "OAUTH_017" in str(refused.value)


def test_an_unknown_or_deleted_task_is_not_found(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    with pytest.raises(TaskNotFound):
        client.task(TaskReference("zz99zz99"))
    clickup.remove_task("86b0x1y30")
    with pytest.raises(TaskNotFound):
        client.task(TaskReference("PRJ-2", custom=True))


def test_a_rate_limit_says_when_it_resets(clickup: ClickUpServer) -> None:
    clickup.rate_limit_next(1, reset_in=30)
    with pytest.raises(RateLimited) as limited:
        ClickUpClient.from_settings().task(TaskReference("86b0x1y30"))
    assert 28 <= limited.value.wait_seconds() <= 32
    assert not limited.value.permanent
    assert ClickUpClient.from_settings().task(TaskReference("86b0x1y30")).name  # after it: answered again


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_unavailable_and_transient(clickup: ClickUpServer, status: int) -> None:
    clickup.fail_next(1, status=status)
    with pytest.raises(ClickUpUnavailable) as outage:
        ClickUpClient.from_settings().task(TaskReference("86b0x1y30"))
    assert not outage.value.permanent


def test_a_closed_port_is_unavailable(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    clickup.stop()
    with pytest.raises(ClickUpUnavailable, match="not reachable"):
        client.task(TaskReference("86b0x1y30"))


def test_a_server_that_does_not_answer_times_out() -> None:
    class Silent(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(2)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = ClickUpClient(
            token="t", team_id="1", api_url=f"http://127.0.0.1:{httpd.server_address[1]}", timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(ClickUpUnavailable):
            client.task(TaskReference("86b0x1y30"))
        assert time.monotonic() - started < 1.5
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_comment_and_a_status_move_reach_the_task(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    assert client.comment_add(task_id="86b0x1y30", text="Shipped in v1.2.0")
    assert clickup.comments == [("86b0x1y30", "Shipped in v1.2.0")]
    assert client.task_status_set(task_id="86b0x1y30", status="complete").status == "complete"


def test_a_webhook_is_created_with_its_secret_and_its_deliveries_are_signed(clickup: ClickUpServer) -> None:
    received: list[tuple[bytes, str]] = []

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.rfile.read(int(self.headers["Content-Length"])), self.headers["X-Signature"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{httpd.server_address[1]}/webhooks/clickup/"
        hook_id, secret = ClickUpClient.from_settings().webhook_create(endpoint=endpoint, events=["taskUpdated"])
        assert hook_id and secret
        assert clickup.send_webhook("taskStatusUpdated", "86b0x1y30") == 200
    finally:
        httpd.shutdown()
        httpd.server_close()
    body, signature = received[0]
    assert signature == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert json.loads(body)["task_id"] == "86b0x1y30"


def test_without_settings_clickup_is_not_configured(settings: object) -> None:
    assert not configured()
    with pytest.raises(NotConfigured):
        ClickUpClient.from_settings()
