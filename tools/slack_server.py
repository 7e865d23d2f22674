"""A local stand-in for Slack: a real HTTP server on 127.0.0.1 that speaks the two parts of Slack's API that
Trunkline uses, so slack_sdk runs unchanged against it (in tests, and in the demo).

- `POST /api/chat.postMessage` (Web API): a bot token (`Authorization: Bearer ...` or a `token` field), a JSON
  or form body; answers `{"ok": true, "channel": ..., "ts": ...}` or, like Slack, HTTP 200 with
  `{"ok": false, "error": "channel_not_found" | "is_archived" | "invalid_auth" | "not_authed" | "no_text"}`.
- `POST /services/T000/B000/XXXX` (an incoming webhook for one channel): answers `ok`, or 400 `invalid_payload`
  / `no_text`, 404 `channel_not_found`, 410 `channel_is_archived`, 404 `no_service` for an unknown hook.
- `POST /api/auth.test`: who the token is.

Switches inject what Slack does on a bad day: `fail_next(n)` (500), `rate_limit_next(n, retry_after=1)` (429
with Retry-After), `error_next("internal_error")` (an error code), `archive_channel` / `delete_channel`. Every
message that got through is in `messages`, and every request (including refused ones) in `requests`, with the
time it arrived.

Run it alone with `python -m tools.slack_server --port 8767` (`make run` starts it when no Slack is configured).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tools.stand_in import StandIn

WEBHOOK_PATH = "/services/T000/B000/XXXX"
DEFAULT_TOKEN = "xoxb-trunkline-stand-in"  # noqa: S105 - the stand-in's own, not a secret


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the stand-in accepted."""

    via: str  # "api" or "webhook"
    channel: str
    text: str
    blocks: list[Any] | None
    ts: str
    received_at: float  # time.monotonic()
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedRequest:
    """Any request, answered or refused (for "the retry came after Retry-After" checks)."""

    path: str
    status: int
    error: str
    received_at: float  # time.monotonic()


def _channel_id(name: str) -> str:
    """A stable, Slack-looking id for a channel name (ids such as C…, U…, D… are kept as they are)."""
    name = name.lstrip("#")
    if name[:1] in ("C", "G", "D", "U", "W") and name[1:].isalnum() and name.isupper():
        return name
    return "C" + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:10].upper()


class SlackServer(StandIn):
    thread_name = "slack-stand-in"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str = DEFAULT_TOKEN,
        webhook_channel: str = "deploys",
        on_message: Callable[[ReceivedMessage], None] | None = None,
    ) -> None:
        self.token = token
        self.on_message = on_message
        self.webhook_channel = webhook_channel.lstrip("#")
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._requests: list[ReceivedRequest] = []
        self._fail: list[tuple[int, str]] = []  # (status, error) to answer the next requests with, in order
        self._retry_after = "1"
        self._archived: set[str] = set()
        self._deleted: set[str] = set()
        self._ts_counter = 0
        self._listen(host, port, self._handler_class())

    @property
    def api_url(self) -> str:
        """The Web API base URL (slack_sdk's `base_url`)."""
        return f"{self.url}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{WEBHOOK_PATH}"

    # -- what it received --------------------------------------------------------------------------------------
    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._requests.clear()
            self._fail.clear()
            self._archived.clear()
            self._deleted.clear()

    # -- switches ----------------------------------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` requests (either endpoint) with `status` (a 5xx outage)."""
        with self._lock:
            self._fail.extend([(status, "internal_error")] * count)

    def error_next(self, error: str, count: int = 1) -> None:
        """Answer the next `count` requests with Slack's `error` code: HTTP 200 `ok: false` on the Web API (how
        Slack reports most errors there), HTTP 400 with the code on the webhook."""
        with self._lock:
            self._fail.extend([(200, error)] * count)

    def rate_limit_next(self, count: int = 1, *, retry_after: float | int = 1) -> None:
        """Answer the next `count` requests with 429 and `Retry-After: retry_after`."""
        with self._lock:
            self._fail.extend([(429, "ratelimited")] * count)
            self._retry_after = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)

    def archive_channel(self, name: str) -> None:
        with self._lock:
            self._archived.add(_channel_id(name))

    def delete_channel(self, name: str) -> None:
        with self._lock:
            self._deleted.add(_channel_id(name))

    def restore_channel(self, name: str) -> None:
        with self._lock:
            self._archived.discard(_channel_id(name))
            self._deleted.discard(_channel_id(name))

    # -- the API -----------------------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        self._ts_counter += 1
        return f"{int(time.time())}.{self._ts_counter:06d}"

    def _accept(self, message: ReceivedMessage) -> None:
        self._messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def _record(self, path: str, status: int, error: str = "") -> None:
        self._requests.append(ReceivedRequest(path=path, status=status, error=error, received_at=time.monotonic()))

    def _injected(self, path: str) -> tuple[int, dict[str, str], str] | None:
        """An injected failure for this request: (status, headers, error), or None."""
        if not self._fail:
            return None
        status, error = self._fail.pop(0)
        if status == 200 and path.startswith("/services/"):
            status = 400
        self._record(path, status, error)
        return status, ({"Retry-After": self._retry_after} if status == 429 else {}), error

    def handle_post_message(self, body: dict[str, Any], authorization: str) -> tuple[int, dict[str, str], Any]:
        path = "/api/chat.postMessage"
        with self._lock:
            injected = self._injected(path)
            if injected is not None:
                status, headers, error = injected
                return status, headers, {"ok": False, "error": error}
            token = authorization.removeprefix("Bearer ").strip() if authorization else str(body.get("token") or "")
            error = ""
            channel = str(body.get("channel") or "")
            channel_id = _channel_id(channel) if channel else ""
            if not token:
                error = "not_authed"
            elif token != self.token:
                error = "invalid_auth"
            elif not channel or channel_id in self._deleted:
                error = "channel_not_found"
            elif channel_id in self._archived:
                error = "is_archived"
            elif not body.get("text") and not body.get("blocks"):
                error = "no_text"
            if error:
                self._record(path, 200, error)
                return 200, {}, {"ok": False, "error": error}
            ts = self._next_ts()
            blocks = body.get("blocks")
            if isinstance(blocks, str):  # a form body carries blocks as a JSON string
                blocks = json.loads(blocks)
            self._accept(
                ReceivedMessage(
                    via="api",
                    channel=channel,
                    text=str(body.get("text") or ""),
                    blocks=blocks,
                    ts=ts,
                    received_at=time.monotonic(),
                    body=body,
                )
            )
            self._record(path, 200)
            text = str(body.get("text") or "")
            return 200, {}, {"ok": True, "channel": channel_id, "ts": ts, "message": {"text": text, "ts": ts}}

    def handle_webhook(self, path: str, raw: bytes) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            if path != WEBHOOK_PATH:
                self._record(path, 404, "no_service")
                return 404, {}, "no_service"
            injected = self._injected(path)
            if injected is not None:
                status, headers, error = injected
                return status, headers, error
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            channel_id = _channel_id(self.webhook_channel)
            if not isinstance(body, dict):
                status, error = 400, "invalid_payload"
            elif channel_id in self._deleted:
                status, error = 404, "channel_not_found"
            elif channel_id in self._archived:
                status, error = 410, "channel_is_archived"
            elif not body.get("text") and not body.get("blocks"):
                status, error = 400, "no_text"
            else:
                status, error = 200, ""
            self._record(path, status, error)
            if status != 200:
                return status, {}, error
            assert isinstance(body, dict)
            self._accept(
                ReceivedMessage(
                    via="webhook",
                    channel=self.webhook_channel,
                    text=str(body.get("text") or ""),
                    blocks=body.get("blocks"),
                    ts=self._next_ts(),
                    received_at=time.monotonic(),
                    body=body,
                )
            )
            return 200, {}, "ok"

    def handle_auth_test(self, authorization: str) -> tuple[int, dict[str, str], Any]:
        token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            self._record("/api/auth.test", 200)
        if token != self.token:
            return 200, {}, {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        return 200, {}, {"ok": True, "team": "Trunkline", "team_id": "T000", "user": "trunkline", "user_id": "U000"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
                if isinstance(body, dict):
                    data = json.dumps(body).encode()
                    content_type = "application/json; charset=utf-8"
                else:
                    data = str(body).encode()
                    content_type = "text/plain; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                raw = self._body()
                path = self.path.split("?", 1)[0]
                authorization = self.headers.get("Authorization") or ""
                if path == "/api/chat.postMessage":
                    content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                    if content_type == "application/json":
                        try:
                            body = json.loads(raw or b"{}")
                        except ValueError:
                            self._answer(200, {}, {"ok": False, "error": "invalid_json"})
                            return
                    else:
                        body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    self._answer(*server.handle_post_message(body if isinstance(body, dict) else {}, authorization))
                elif path == "/api/auth.test":
                    self._answer(*server.handle_auth_test(authorization))
                elif path.startswith("/services/"):
                    self._answer(*server.handle_webhook(path, raw))
                elif path.startswith("/api/"):
                    self._answer(200, {}, {"ok": False, "error": "unknown_method"})
                else:
                    self._answer(404, {}, "not found")

        return Handler


def main() -> None:  # pragma: no cover - a developer's tool
    parser = argparse.ArgumentParser(description="A local stand-in for Slack's Web API and incoming webhooks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)  # beside the simulator's 8765 and ClickUp's 8766
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    server = SlackServer(
        args.host,
        args.port,
        token=args.token,
        on_message=lambda m: print(f"[{m.via} → {m.channel}] {m.text}", flush=True),  # a log file reads it at once
    ).start()
    print(f"Slack stand-in on {server.url}")
    print(f"  SLACK_API_URL={server.api_url} SLACK_BOT_TOKEN={server.token}")
    print(f"  SLACK_WEBHOOK_URL={server.webhook_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
