"""The ClickUp client against the stand-in: a real HTTP server, nothing mocked."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

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
from tools.clickup_server import ClickUpServer, Task


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


def auth(clickup: ClickUpServer) -> dict[str, str]:
    return {"Authorization": clickup.token}


def test_a_comment_and_a_status_move_reach_the_task(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    assert client.comment_add(task=TaskReference("86b0x1y30"), text="Shipped in v1.2.0")
    assert clickup.comments == [("86b0x1y30", "Shipped in v1.2.0")]
    assert client.task_status_set(task=TaskReference("86b0x1y30"), status="complete").status == "complete"
    client.comment_add(task=TaskReference("86b0x1y30"), text="Verified in production")
    listed = requests.get(f"{clickup.url}/api/v2/task/86b0x1y30/comment", headers=auth(clickup), timeout=5)
    assert [c["comment_text"] for c in listed.json()["comments"]] == ["Verified in production", "Shipped in v1.2.0"]


def test_a_task_named_by_its_custom_id_gets_its_comment_and_its_status(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    client.comment_add(task=TaskReference("PRJ-3", custom=True), text="Verified in production")
    assert clickup.comments == [("86b0x1y31", "Verified in production")]
    assert "custom_task_ids=true&team_id=9012345" in clickup.requests[-1].path
    assert client.task_status_set(task=TaskReference("PRJ-3", custom=True), status="complete").id == "86b0x1y31"
    assert clickup.task("86b0x1y31").status == "complete"


def test_a_task_s_acceptance_criteria_come_from_its_checklists_and_its_description(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    assert client.task(TaskReference("PRJ-2", custom=True)).criteria == ["CSV opens"]
    assert client.task(TaskReference("PRJ-3", custom=True)).criteria == [
        "100 requests a minute pass",
        "the 101st gets 429 with Retry-After",
    ]


def test_a_list_s_tasks_are_read_page_by_page_for_the_people_asked(clickup: ClickUpServer) -> None:
    for n in range(5):
        clickup.add_task(Task(f"86l{n}", f"Backlog {n}", assignees=["Ada Lovelace"], list_id="77"))
    clickup.add_task(Task("86lx", "Someone else's", assignees=["Grace Hopper"], list_id="77"))
    clickup.add_task(Task("86ly", "Done already", status="complete", assignees=["Ada Lovelace"], list_id="77"))
    clickup.page_size = 2
    client = ClickUpClient.from_settings()
    ada = clickup.member("Ada Lovelace")
    pages = [client.list_tasks(list_id="77", assignee_ids=[str(ada.id)], page=n) for n in range(3)]
    assert [[t.id for t in tasks] for tasks, _ in pages] == [["86l0", "86l1"], ["86l2", "86l3"], ["86l4"]]
    assert [last for _, last in pages] == [False, False, True]
    assert pages[0][0][0].assignee_ids == [str(ada.id)]
    assert "assignees%5B%5D=" in clickup.requests[-1].path


def test_the_workspace_s_members_are_read_with_their_addresses(clickup: ClickUpServer) -> None:
    members = ClickUpClient.from_settings().members()
    grace = next(m for m in members if m.username == "Grace Hopper")
    assert (grace.id, grace.email) == (str(clickup.member("Grace Hopper").id), "grace.hopper@example.com")


def test_a_token_that_does_not_see_the_workspace_says_so(clickup: ClickUpServer, settings: object) -> None:
    client = ClickUpClient(token=clickup.token, team_id="1", api_url=clickup.url)
    with pytest.raises(ClickUpError, match="does not see the workspace 1"):
        client.members()


def test_the_workspace_s_webhooks_are_listed_and_removed(clickup: ClickUpServer) -> None:
    client = ClickUpClient.from_settings()
    hook_id, _ = client.webhook_create(endpoint="http://127.0.0.1:9/webhooks/clickup/", events=["taskUpdated"])
    assert [(h.id, h.endpoint, h.events) for h in client.webhooks()] == [
        (hook_id, "http://127.0.0.1:9/webhooks/clickup/", ["taskUpdated"])
    ]
    client.webhook_delete(webhook_id=hook_id)
    assert client.webhooks() == []
    with pytest.raises(TaskNotFound):  # ClickUp's 404, whatever the object
        client.webhook_delete(webhook_id=hook_id)


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
