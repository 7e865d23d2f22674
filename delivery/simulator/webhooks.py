"""Webhook delivery: every hook receives the events it subscribes to, signed and logged like GitHub's.

``world.emit`` calls :meth:`WebhookSender.on_event` at the moment of a mutation (under ``world.lock``):
it picks the subscribed hooks (organization hooks: every repository; repository hooks: their own),
serializes the payload once and queues one job per hook. A single background thread POSTs the jobs
in order without ever taking ``world.lock`` (a receiver may call the API back while it answers) and
records each attempt in the hook's delivery log. Like GitHub it never retries by itself: failures
are logged, and ``POST .../deliveries/{id}/attempts`` redelivers.

Test faults (``sender.faults.add(kind, count)``): ``drop`` (not sent, logged as "timed out"),
``duplicate`` (sent twice, same GUID) and ``reorder`` (the next ``count`` are held, then sent in
reverse order; a ``flush`` releases a partial batch).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ssl
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from .api_base import dumps
from .models import Hook
from .webhook_log import DeliveryLog, DeliveryRecord
from .world import World

USER_AGENT = "GitHub-Hookshot/" + hashlib.sha1(b"github-simulator", usedforsecurity=False).hexdigest()[:7]
FAULT_KINDS = ("drop", "duplicate", "reorder")
FIRST_DELIVERY_ID = 90_000_000_001
MAX_RESPONSE_BODY = 64 * 1024


def signatures(secret: str, body: bytes) -> dict[str, str]:
    """GitHub's two signature headers: HMAC of the raw body with the hook's secret (SHA-1 is legacy)."""
    key = secret.encode()
    return {
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


def subscribes(hook: Hook, event: str) -> bool:
    return hook.active and ("*" in hook.events or event in hook.events)


@dataclass(slots=True, frozen=True)
class Job:
    """One delivery to one hook. The hook's config is read when the job is queued (emit time)."""

    guid: str
    event: str
    action: str | None
    body: bytes
    hook_id: int
    target_type: str  # "organization" / "repository"
    target_id: int
    repository_id: int | None
    url: str
    secret: str | None
    content_type: str  # "json" / "form"
    insecure_ssl: bool
    redelivery: bool = False


@dataclass(slots=True)
class DeliveryFault:
    kind: str
    count: int = 1


class DeliveryFaults:
    """Queued delivery faults, applied in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[DeliveryFault] = []

    def add(self, kind: str, count: int = 1) -> DeliveryFault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if int(count) < 1:
            raise ValueError("count must be >= 1")
        fault = DeliveryFault(kind, int(count))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self) -> tuple[str, bool] | None:
        """The fault the next delivery suffers, if any, and whether that was its last one."""
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(0)
            return fault.kind, fault.count <= 0

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]


class WebhookSender:
    def __init__(self, world: World, timeout: float = 10.0) -> None:
        self.world = world
        self.timeout = timeout
        self.faults = DeliveryFaults()
        self.log = DeliveryLog(world)
        self.sent = 0  # HTTP POSTs made (dropped deliveries are not sent; duplicates count twice)
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._held: list[Job] = []  # collected by a reorder fault
        self._pending = 0  # queued + held + being sent
        self._paused = False
        self._draining = 0  # flush() calls waiting: they release a partial reorder batch
        self._closed = False
        self._ids = FIRST_DELIVERY_ID
        self._thread: threading.Thread | None = None
        world.listeners.append(self.on_event)

    # -- queueing (called under world.lock) ------------------------------------------------------
    def on_event(self, event: str, action: str | None, payload: dict[str, Any]) -> None:
        name = (payload.get("repository") or {}).get("name")
        repo = self.world.repos.get(name) if name else None
        hooks = [*self.world.org.hooks.values(), *(repo.hooks.values() if repo is not None else ())]
        wanted = [hook for hook in hooks if subscribes(hook, event)]
        if not wanted:
            return
        body, guid = dumps(payload), str(uuid.uuid4())  # the snapshot; one GUID for every hook, like GitHub
        self._enqueue([self._job(hook, guid, event, action, body, repo.id if repo else None) for hook in wanted])

    def ping(self, hook: Hook, payload: dict[str, Any]) -> None:
        """The ``ping`` GitHub sends to a new hook."""
        repository_id = hook.repo.id if hook.repo is not None else None
        self._enqueue([self._job(hook, str(uuid.uuid4()), "ping", None, dumps(payload), repository_id)])

    def redeliver(self, hook: Hook, record: DeliveryRecord) -> None:
        """The same payload and GUID again, to the hook's current URL and secret."""
        job = self._job(hook, record.guid, record.event, record.action, record.body, record.repository_id, True)
        self._enqueue([job])

    def _job(
        self, hook: Hook, guid: str, event: str, action: str | None, body: bytes, repository_id: int | None,
        redelivery: bool = False,
    ) -> Job:  # fmt: skip
        config = hook.config
        target = ("repository", hook.repo.id) if hook.repo is not None else ("organization", self.world.org.id)
        return Job(
            guid=guid, event=event, action=action, body=body, hook_id=hook.id, target_type=target[0],
            target_id=target[1], repository_id=repository_id, url=str(config.get("url") or ""),
            secret=str(config["secret"]) if config.get("secret") else None,
            content_type=str(config.get("content_type") or "form"),
            insecure_ssl=str(config.get("insecure_ssl", "0")) == "1", redelivery=redelivery,
        )  # fmt: skip

    def _enqueue(self, jobs: list[Job]) -> None:
        with self._cond:
            if self._closed:
                return
            self._queue.extend(jobs)
            self._pending += len(jobs)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="github-simulator-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    # -- control ---------------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> None:
        """Block until every queued delivery has been attempted (a partial reorder batch is released)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._paused and self._pending:
                raise RuntimeError("webhook deliveries are paused: resume() before flush()")
            self._draining += 1
            self._cond.notify_all()
            try:
                while self._pending:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"{self._pending} webhook deliveries still pending after {timeout}s")
                    self._cond.wait(remaining)
            finally:
                self._draining -= 1

    def pause(self) -> None:
        """Hold deliveries (they stay queued, in order) until :meth:`resume`."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def paused(self) -> _Paused:
        """``with sender.paused(): ...`` holds deliveries for the block; ``bool(sender.paused())`` says
        whether deliveries are held right now."""
        return _Paused(self)

    @property
    def is_paused(self) -> bool:
        return self._paused

    @property
    def pending(self) -> int:
        return self._pending

    def close(self) -> None:
        """Stop sending (what is still queued is not delivered) and unsubscribe from the world."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self.on_event in self.world.listeners:
            self.world.listeners.remove(self.on_event)
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    # -- the sending thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
            if batch is None:
                return
            for job, kind in batch:
                try:
                    self._attempt(job, kind)
                except Exception:  # noqa: BLE001 - a bug here must not stop every later delivery
                    traceback.print_exc()
            with self._cond:
                self._pending -= len(batch)
                self._cond.notify_all()

    def _next_batch(self) -> list[tuple[Job, str]] | None:
        """What to attempt next as (job, "send" | "drop" | "duplicate"); waits for work. Holds ``_cond``."""
        while not self._closed:
            if not self._paused:
                if self._queue:
                    job = self._queue.popleft()
                    taken = self.faults.take()
                    if taken is None:
                        return [(job, "send")]
                    kind, last = taken
                    if kind != "reorder":
                        return [(job, kind)]
                    self._held.append(job)
                    if last:
                        return self._release_held()
                    continue
                if self._held and self._draining:
                    return self._release_held()
            self._cond.wait()
        return None

    def _release_held(self) -> list[tuple[Job, str]]:
        held, self._held = self._held, []
        return [(job, "send") for job in reversed(held)]

    def _attempt(self, job: Job, kind: str) -> None:
        headers = self._headers(job)
        if kind == "drop":  # as if the receiver never answered
            self._record(job, headers, self.world.clock(), self.timeout, "timed out", 0, {}, None)
            return
        for _ in range(2 if kind == "duplicate" else 1):
            self._post(job, headers)

    def _headers(self, job: Job) -> dict[str, str]:
        form = job.content_type == "form"
        headers = {
            "Accept": "*/*",
            "Content-Type": "application/x-www-form-urlencoded" if form else "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Delivery": job.guid,
            "X-GitHub-Event": job.event,
            "X-GitHub-Hook-ID": str(job.hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(job.target_id),
            "X-GitHub-Hook-Installation-Target-Type": job.target_type,
        }
        if job.secret:
            headers.update(signatures(job.secret, self._body(job)))
        return headers

    @staticmethod
    def _body(job: Job) -> bytes:
        if job.content_type == "form":
            return urlencode({"payload": job.body.decode()}).encode()
        return job.body

    def _post(self, job: Job, headers: dict[str, str]) -> None:
        delivered_at, started = self.world.clock(), time.monotonic()
        status, code, response_headers, response_body = "failed to connect to host", 0, {}, None
        self.sent += 1
        connection: http.client.HTTPConnection | None = None
        try:
            connection = self._connect(job)
            parts, body = urlsplit(job.url), self._body(job)
            # Only GitHub's headers (plus Host and Content-Length): no http.client Accept-Encoding.
            connection.putrequest("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                                  skip_accept_encoding=True)  # fmt: skip
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            code = response.status
            response_headers = dict(response.getheaders())
            response_body = response.read(MAX_RESPONSE_BODY).decode("utf-8", "replace")
            status = "OK" if 200 <= code < 300 else f"Invalid HTTP Response: {code}"
        except TimeoutError:
            status = "timed out"
        except (OSError, http.client.HTTPException, ValueError):
            status = "failed to connect to host"
        finally:
            if connection is not None:
                connection.close()
        duration = round(time.monotonic() - started, 2)
        self._record(job, headers, delivered_at, duration, status, code, response_headers, response_body)

    def _connect(self, job: Job) -> http.client.HTTPConnection:
        parts = urlsplit(job.url)
        if parts.scheme == "https":
            context = ssl._create_unverified_context() if job.insecure_ssl else ssl.create_default_context()  # noqa: S323
            return http.client.HTTPSConnection(parts.netloc, timeout=self.timeout, context=context)
        if parts.scheme != "http" or not parts.netloc:
            raise ValueError(f"not a webhook URL: {job.url!r}")
        return http.client.HTTPConnection(parts.netloc, timeout=self.timeout)

    def _record(
        self, job: Job, headers: dict[str, str], delivered_at: datetime, duration: float, status: str, code: int,
        response_headers: dict[str, str], response_body: str | None,
    ) -> None:  # fmt: skip
        with self._cond:
            self._ids += 1
            delivery_id = self._ids - 1
        self.log.add(DeliveryRecord(
            id=delivery_id, hook_id=job.hook_id, guid=job.guid, event=job.event, action=job.action,
            repository_id=job.repository_id, redelivery=job.redelivery, delivered_at=delivered_at,
            duration=duration, status=status, status_code=code, url=job.url, request_headers=headers,
            body=job.body, response_headers=response_headers, response_body=response_body,
        ))  # fmt: skip


class _Paused:
    def __init__(self, sender: WebhookSender) -> None:
        self.sender = sender

    def __enter__(self) -> WebhookSender:
        self.sender.pause()
        return self.sender

    def __exit__(self, *exc: object) -> None:
        self.sender.resume()

    def __bool__(self) -> bool:
        return self.sender.is_paused
