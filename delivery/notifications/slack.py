"""The Slack transport: the one module that talks to Slack (through slack_sdk).

Two ways in, chosen by the settings: the Web API (`chat.postMessage` with a bot token, which can post to any
channel the bot is in — so each repository can have its own channel) or an incoming webhook (one fixed
channel). Every failure becomes a `SlackError` that says whether trying again can help; slack_sdk's own retry
handlers are switched off, so the send task alone decides when to try again (and the log row shows each try).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from delivery.notifications.transport import TransportError

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"

# Slack answers these with HTTP 200 and `ok: false` (Web API) or a 4xx (webhooks). They will not change by
# trying again: the channel is gone or archived, the token is wrong or lacks a scope, the bot is not in the
# channel, the message is malformed. Someone has to fix the configuration, so the row records the reason.
TRANSIENT_API_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "rate_limited"}
)


class SlackError(TransportError):
    """A send that did not reach Slack's channel (`retry_after`: a 429's Retry-After, in seconds)."""


@dataclass(frozen=True)
class SlackMessage:
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = field(default=None)


class SlackTransport(Protocol):
    name: str

    def send(self, message: SlackMessage) -> str:
        """Post the message; returns Slack's message id (`ts`) when the transport has one, else ""."""
        ...


def _retry_after(headers: Any) -> float | None:
    """The Retry-After header in seconds, or None when it is missing or not a number of seconds."""
    if not headers:
        return None
    value = None
    for key, raw in dict(headers).items():
        if str(key).lower() == "retry-after":
            value = raw[0] if isinstance(raw, list | tuple) else raw
            break
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return max(0.0, seconds) if seconds is not None else None


def _http_error(status: int, error: str, headers: Any) -> SlackError:
    """Classify a failed HTTP answer: 429 waits for Retry-After, 5xx is an outage, any other 4xx is final."""
    if status == 429:
        return SlackError(
            f"rate limited by Slack (429 {error})".strip(), permanent=False, retry_after=_retry_after(headers)
        )
    if status >= 500:
        return SlackError(f"Slack answered {status} {error}".strip(), permanent=False)
    return SlackError(f"Slack answered {status} {error}".strip(), permanent=True)


def _connection_error(exc: Exception) -> SlackError:
    # No answer at all (refused, reset, DNS, timeout): Slack or the network is down, which passes.
    return SlackError(f"could not reach Slack: {exc.__class__.__name__}: {exc}", permanent=False)


class WebApiTransport:
    """`chat.postMessage` with a bot token; `base_url` points it at the local stand-in in tests and the demo."""

    name = "slack_web_api"

    def __init__(self, *, token: str, base_url: str = DEFAULT_API_URL, timeout: float = 10.0) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        # retry_handlers=[]: slack_sdk would otherwise retry connection errors itself, out of the log's sight.
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])  # type: ignore[arg-type]

    def send(self, message: SlackMessage) -> str:
        if not message.channel:
            raise SlackError(
                "no channel to post to: set the repository's Slack channel or SLACK_DEFAULT_CHANNEL", permanent=True
            )
        try:
            response = self.client.chat_postMessage(channel=message.channel, text=message.text, blocks=message.blocks)
        except SlackApiError as exc:
            status = int(exc.response.status_code)
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = str(data.get("error") or "")
            if status != 200:
                raise _http_error(status, error, exc.response.headers) from exc
            if error in TRANSIENT_API_ERRORS:
                raise SlackError(f"Slack API error: {error}", permanent=False) from exc
            raise SlackError(
                f"Slack API error: {error or 'unknown'} (channel {message.channel})", permanent=True
            ) from exc
        except SlackClientError as exc:  # a malformed request (bad URL or proxy): configuration
            raise SlackError(f"Slack client error: {exc}", permanent=True) from exc
        except (URLError, HTTPException, OSError) as exc:  # TimeoutError and ConnectionError are OSErrors
            raise _connection_error(exc) from exc
        return str(response.get("ts") or "")


class WebhookTransport:
    """An incoming webhook: Slack decides the channel (the one the webhook was made for)."""

    name = "slack_webhook"

    def __init__(self, *, url: str, timeout: float = 10.0) -> None:
        self.client = WebhookClient(url, timeout=timeout, retry_handlers=[])  # type: ignore[arg-type]

    def send(self, message: SlackMessage) -> str:
        try:
            response = self.client.send(text=message.text, blocks=message.blocks)
        except SlackClientError as exc:
            raise SlackError(f"Slack client error: {exc}", permanent=True) from exc
        except (URLError, HTTPException, OSError) as exc:
            raise _connection_error(exc) from exc
        if response.status_code == 200:
            return ""
        raise _http_error(response.status_code, (response.body or "").strip()[:200], response.headers)


def transport_from_settings() -> SlackTransport | None:
    """The configured transport: the Web API when SLACK_BOT_TOKEN is set, else the webhook when
    SLACK_WEBHOOK_URL is set, else None (notices are logged only)."""
    timeout = float(getattr(settings, "SLACK_TIMEOUT_SECONDS", 10.0))
    token = getattr(settings, "SLACK_BOT_TOKEN", "")
    if token:
        return WebApiTransport(
            token=token, base_url=getattr(settings, "SLACK_API_URL", "") or DEFAULT_API_URL, timeout=timeout
        )
    url = getattr(settings, "SLACK_WEBHOOK_URL", "")
    if url:
        return WebhookTransport(url=url, timeout=timeout)
    return None


def slack_configured() -> bool:
    return bool(getattr(settings, "SLACK_BOT_TOKEN", "") or getattr(settings, "SLACK_WEBHOOK_URL", ""))
