"""The HTTP server: routing, auth, ETags, rate limit, faults, control endpoints, the services' Prometheus API.

``SimulatorServer(world).start()`` serves GitHub's REST API under ``/api/v3``, its GraphQL API at ``POST
/api/graphql`` (and github.com's ``/graphql``; :mod:`graphql_api`), the OAuth web flow
under ``/login/oauth``, avatars, and the test/demo controls under ``/_simulator``, from a background
daemon thread (HTTP/1.1 keep-alive, so ``requests`` connection pooling works). Hooks created through
the API (or ``webhook_url=``) receive signed webhook deliveries from ``self.webhooks`` (:mod:`webhooks`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from . import prometheus
from .api import Api
from .api_base import DOCS as API_DOCS
from .api_base import ApiError, Request, Response, Result, dumps
from .control import Control
from .faults import (
    PRIMARY_MESSAGE,
    RATE_DOCS,
    SECONDARY_MESSAGE,
    Fault,
    Faults,
    RateLimiter,
    RateWindow,
    Stats,
    spoil_body,
)
from .graphql_api import GraphQLApi
from .models import User
from .oauth import OAuthApp, html_page
from .render import Renderer
from .webhooks import WebhookSender
from .world import World

if TYPE_CHECKING:
    from .live import LiveActivity

API_PREFIX = "/api/v3"
PROMETHEUS_PATHS = ("/api/v1/query_range", "/api/v1/query")  # the simulated services' signals (prometheus.py)
GRAPHQL_PATHS = ("/api/graphql", "/graphql")  # GitHub Enterprise Server's; github.com's (api.github.com/graphql)
TIMER_POLL_SECONDS = 0.05


class SimulatorServer:
    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        hourly_budget: int = 5000,
        graphql_budget: int = 5000,
        oauth_client_id: str = "trunkline-demo",
        oauth_client_secret: str = "trunkline-demo-secret",  # noqa: S107 - the demo's documented secret
        live: LiveActivity | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        run_timers: bool = True,
    ) -> None:
        """``webhook_url`` (and ``webhook_secret``) install an organization hook for every event, as the
        CLI's ``--webhook-url`` does; hooks created through the API deliver too (``self.webhooks``).

        ``hourly_budget``: REST requests per token per hour; ``graphql_budget``: GraphQL points per token per hour.

        ``run_timers``: a background thread runs the world's due timers (a dispatched workflow, a deployment
        created through the API) as time passes, so they move on and send their webhooks without anyone
        calling the API, as on GitHub. With ``world.frozen_clock`` set nothing is due until the test moves it.
        """
        self.world = world
        self.faults = Faults()
        self.stats = Stats()
        self.rate = RateLimiter(hourly_budget)
        self.graphql_rate = RateLimiter(graphql_budget, resource="graphql")
        self.oauth = OAuthApp(world, oauth_client_id, oauth_client_secret)
        self._live = live
        self._httpd = _HTTPServer((host, port), self)
        self.host, self.port = self._httpd.server_address[:2]
        self.url = f"http://{host}:{self.port}"
        self.api_url = self.url + API_PREFIX
        self.renderer = Renderer(world, self.url)
        world.public_url = self.url  # webhook payloads link here too
        self.webhooks = WebhookSender(world)
        self.api = Api(world, self.renderer)
        self.api.webhooks = self.webhooks
        self.api.graphql_rate = self.graphql_rate
        self.graphql = GraphQLApi(world, self.renderer, self.faults, self.graphql_rate, self.stats)
        self.control = Control(self)
        self._thread: threading.Thread | None = None
        self._run_timers = run_timers
        self._timers_stop = threading.Event()
        self._timer_thread: threading.Thread | None = None
        if webhook_url:
            with world.lock:
                self.api.install_org_hook(webhook_url, webhook_secret)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"github-simulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        if self._run_timers and self._timer_thread is None:
            self._timers_stop.clear()
            self._timer_thread = threading.Thread(
                target=self._timer_loop, name=f"github-simulator-timers:{self.port}", daemon=True
            )
            self._timer_thread.start()
        return self

    def _timer_loop(self) -> None:
        while not self._timers_stop.wait(TIMER_POLL_SECONDS):
            due = self.world.next_due
            if due is not None and due <= self.world.clock():
                try:
                    self.world.advance()
                except Exception:  # noqa: BLE001 - a broken timer must not stop the others
                    traceback.print_exc(file=sys.stderr)

    def stop(self) -> None:
        if self._timer_thread is not None:
            self._timers_stop.set()
            self._timer_thread.join(timeout=5)
            self._timer_thread = None
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()
        self.webhooks.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def live(self) -> LiveActivity:
        """The live-activity driver (created on first use, not started) behind ``POST /_simulator/tick``."""
        if self._live is None:
            from .live import LiveActivity

            self._live = LiveActivity(self.world)
        return self._live

    # -- dispatch --------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Any, raw_body: bytes) -> Response:
        parts = urlsplit(target)
        path, query = parts.path, parse_qsl(parts.query, keep_blank_values=True)
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return self._api(method, path[len(API_PREFIX) :] or "/", query, headers, raw_body)
        if path == GRAPHQL_PATHS[0] or (path == GRAPHQL_PATHS[1] and method == "POST"):
            return self._graphql(method, headers, raw_body)
        if path.startswith("/login/oauth/"):
            return self._oauth(method, path, query, headers, raw_body)
        if path.startswith("/_simulator/"):
            self.world.advance()
            status, body = self.control.handle(method, path, query, _json_or_none(raw_body))
            return Response(status, b"" if body is None else dumps(body))
        if path in PROMETHEUS_PATHS and method == "GET":
            self.world.advance()
            status, body = prometheus.answer(self.world, path, query)
            return Response(status, dumps(body))
        if path.startswith("/avatars/u/") and method == "GET":
            return Response(
                200, _avatar(path.rsplit("/", 1)[-1]), "image/svg+xml", [("Cache-Control", "max-age=86400")]
            )
        if method == "GET":
            return self._web_page(path)
        return Response(404, dumps({"message": "Not Found"}))

    def _identity(self, headers: Any) -> tuple[User | None, str | None]:
        """(who the token acts as, its OAuth scopes if it came from the OAuth flow)."""
        value = (headers.get("Authorization") or "").strip()
        scheme, _, token = value.partition(" ")
        scheme, token = scheme.lower(), token.strip()
        if scheme == "basic":
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                token = base64.b64decode(token).decode().partition(":")[2] or token
        elif scheme not in ("token", "bearer"):
            token = ""
        if not token:
            return None, None
        found = self.oauth.lookup(token)
        if found is not None:
            return found
        return self.world.service_account, None

    def _api(self, method: str, path: str, query: list[tuple[str, str]], headers: Any, raw_body: bytes) -> Response:
        self.world.advance()
        user, scopes = self._identity(headers)
        matched = self.api.match(method, path)
        route_name = matched[0].name if matched else f"{method} (unknown route)"
        rate_key: Any = user.id if user is not None else "anonymous"
        fault = self.faults.take(method, path)
        if fault is not None and fault.spoils:
            response = self._serve(method, path, query, headers, raw_body, user, scopes is not None, matched, rate_key)
            if response.status == 200 and response.body:
                if fault.kind == "cut_body":
                    response.cut = fault.damage
                else:
                    response.body = spoil_body(fault, response.body)
        elif fault is not None:
            if fault.take_effect:
                self._serve(method, path, query, headers, raw_body, user, scopes is not None, matched, rate_key)
            response = self._fault(fault, user, self.rate.peek(rate_key))
        else:
            response = self._serve(method, path, query, headers, raw_body, user, scopes is not None, matched, rate_key)
        if scopes is not None:
            response.headers.append(("X-OAuth-Scopes", scopes))
        response.headers.append(("X-GitHub-Request-Id", uuid.uuid4().hex[:20].upper()))
        self.stats.record(route_name, response.status)
        return response

    def _graphql(self, method: str, headers: Any, raw_body: bytes) -> Response:
        self.world.advance()
        user, scopes = self._identity(headers)
        request_id = uuid.uuid4().hex[:20].upper()
        response = self.graphql.handle(method, raw_body, user, request_id)
        if scopes is not None:
            response.headers.append(("X-OAuth-Scopes", scopes))
        response.headers.append(("X-GitHub-Request-Id", request_id))
        self.stats.record(f"{method} /graphql", response.status)
        return response

    def _serve(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Any,
        raw_body: bytes,
        user: User | None,
        oauth: bool,
        matched: Any,
        rate_key: Any,
    ) -> Response:
        window = self.rate.peek(rate_key)
        is_rate_limit = path.rstrip("/") == "/rate_limit"
        if window.remaining <= 0 and not is_rate_limit:
            message = PRIMARY_MESSAGE.format(user_id=user.id) if user else "API rate limit exceeded for 127.0.0.1."
            body: Any = {"message": message, "documentation_url": RATE_DOCS}
            return Response(403, dumps(body), headers=window.headers())
        try:
            if matched is None:
                allowed = self.api.allowed_methods(path)
                raise ApiError(405, "Method Not Allowed") if allowed else ApiError(404, "Not Found")
            route, params = matched
            body = _json_or_none(raw_body) if raw_body else None
            if raw_body and body is None:
                raise ApiError(400, "Problems parsing JSON")
            request = Request(method, path, query, params, user, oauth, body, window)
            with self.world.lock:
                result = route.handler(request)
        except ApiError as error:
            result = Result(error.status, error.body())
        payload = b"" if result.body is None else dumps(result.body)
        extra = list(result.headers)
        if result.status == 200 and method == "GET":
            etag = f'W/"{hashlib.md5(payload, usedforsecurity=False).hexdigest()}"'
            extra.append(("ETag", etag))
            if _etag_matches(headers.get("If-None-Match"), etag):
                return Response(304, b"", headers=extra + window.headers())
        if not is_rate_limit:
            window = self.rate.consume(rate_key)
        return Response(result.status, payload, headers=extra + window.headers())

    @staticmethod
    def _fault(fault: Fault, user: User | None, window: RateWindow) -> Response:
        if fault.kind == "server_error":
            return Response(fault.status, dumps({"message": "Server Error"}), headers=window.headers())
        if fault.kind == "validation_failed":
            body = {"message": fault.message, "documentation_url": API_DOCS, "status": str(fault.status)}
            return Response(fault.status, dumps(body), headers=window.headers())
        if fault.kind == "primary_rate_limit":
            exhausted = RateWindow(window.limit, window.limit, int(time.time() + fault.reset_in + 0.999))
            body = {"message": PRIMARY_MESSAGE.format(user_id=user.id if user else 1), "documentation_url": RATE_DOCS}
            return Response(fault.status or 403, dumps(body), headers=exhausted.headers())
        body = {"message": SECONDARY_MESSAGE, "documentation_url": RATE_DOCS + "#about-secondary-rate-limits"}
        return Response(fault.status, dumps(body), headers=[("Retry-After", str(fault.retry_after)), *window.headers()])

    def _oauth(self, method: str, path: str, query: list[tuple[str, str]], headers: Any, raw_body: bytes) -> Response:
        if path == "/login/oauth/authorize" and method == "GET":
            page = self.oauth.authorize(query)
        elif path == "/login/oauth/access_token" and method == "POST":
            form = dict(query)
            if raw_body:
                parsed = _json_or_none(raw_body)
                if not isinstance(parsed, dict):
                    parsed = dict(parse_qsl(raw_body.decode("utf-8", "replace")))
                form.update(parsed)
            basic = None
            auth = headers.get("Authorization") or ""
            if auth.lower().startswith("basic "):
                try:
                    client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    basic = (client_id, secret)
                except (binascii.Error, UnicodeDecodeError):
                    basic = ("", "")
            page = self.oauth.access_token(form, basic, "json" in (headers.get("Accept") or "").lower())
        else:
            return Response(404, dumps({"message": "Not Found"}))
        return Response(page.status, page.body, page.content_type, page.headers)

    def _web_page(self, path: str) -> Response:
        if path in ("", "/"):
            with self.world.lock:
                counts = self.world.counts()
            links = "".join(
                f"<li><code>{self.world.org_login}/{r.name}</code>{' (archived)' * r.archived}</li>"
                for r in self.world.served_repos
            )
            page = html_page(
                200,
                "GitHub simulator",
                f"<p>Organization <b>{self.world.org_login}</b>: "
                f"{counts['pull_requests']} pull requests, {counts['deployments']} deployments.</p>"
                f"<ul>{links}</ul><p>REST API: <code>{self.api_url}</code></p>",
            )
        else:
            page = html_page(
                200,
                "Simulated GitHub page",
                f'<p>On GitHub this would be <code>{path}</code>.</p><p><a href="/">Back to the simulator</a></p>',
            )
        return Response(page.status, page.body, page.content_type)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHubSimulator/1.0"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffer headers and body, flushed once per response
    timeout = 120  # idle keep-alive connections end after this
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def _run(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            response = self.server.app.handle(self.command, self.path, self.headers, raw)
        except Exception as exc:  # noqa: BLE001 - keep serving; report like GitHub's 500s
            traceback.print_exc(file=sys.stderr)
            response = Response(500, dumps({"message": f"Simulator error: {exc.__class__.__name__}: {exc}"}))
        if response.cut:
            self._send_cut(response)
            return
        self.send_response(response.status)
        if response.status not in (204, 304):
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if response.body and response.status not in (204, 304) and self.command != "HEAD":
            self.wfile.write(response.body)

    def _send_cut(self, response: Response) -> None:
        """Headers, then part of the body, then the connection closes: the client's read ends mid-body."""
        self.close_connection = True
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        half = response.body[: len(response.body) // 2]
        if response.cut == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            part = f"{len(half):x}\r\n".encode() + half + b"\r\n"  # no closing 0-length chunk
        else:
            if response.cut == "bad_gzip":
                self.send_header("Content-Encoding", "gzip")
                half = response.body  # whole, but not gzip
            self.send_header("Content-Length", str(len(response.body)))
            part = half
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(part)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = do_HEAD = _run

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimulatorServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            (self._connections.add if add else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _avatar(user_id: str) -> bytes:
    digest = hashlib.md5(user_id.encode(), usedforsecurity=False).hexdigest()
    hue = int(digest[:4], 16) % 360
    cells = "".join(
        f'<rect x="{x * 10 + 10}" y="{y * 10 + 10}" width="10" height="10"/>'
        for y in range(5)
        for x in range(5)
        if int(digest[(y * 3 + min(x, 4 - x)) % 32], 16) % 2
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 70 70" width="70" height="70">'
        f'<rect width="70" height="70" fill="#f0f0f0"/><g fill="hsl({hue},55%,55%)">{cells}</g></svg>'
    ).encode()
