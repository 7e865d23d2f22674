"""Notices to Slack (`notify`) and on ClickUp tasks (`notify_task`): each writes the log row, the send task posts it
through the row's transport (notifications.slack, notifications.clickup).

The row comes first and is the notice: it is written (once per dedupe key, decided by the unique constraint)
before anything is sent, so an outage of Slack or of the broker never loses a notice — it stays `failed` or
`pending` with its next attempt time, and the task or the periodic sweep sends it later. A worker takes a row
with one conditional UPDATE (pending/failed → sending), so two workers never post one notice twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.clickup.client import configured as clickup_configured
from delivery.core.backoff import backoff_seconds
from delivery.core.queue import task_queue
from delivery.github.models import Repository
from delivery.notifications import slack
from delivery.notifications.clickup import CLICKUP, ClickUpTransport, TaskNotice
from delivery.notifications.clickup import transport_from_settings as clickup_transport
from delivery.notifications.models import Notification
from delivery.notifications.transport import TransportError

logger = logging.getLogger(__name__)
Outcome = Notification.Outcome

# -- kinds -------------------------------------------------------------------------------------------------------
DEPLOY_SUCCEEDED = "deploy_succeeded"
DEPLOY_FAILED = "deploy_failed"
MONITORING_OVERDUE_OWNER = "monitoring_overdue_owner"
MONITORING_OVERDUE_ON_CALL = "monitoring_overdue_on_call"
ROLLBACK_STARTED = "rollback_started"
ROLLBACK_SUCCEEDED = "rollback_succeeded"
ROLLBACK_FAILED = "rollback_failed"
WEEKLY_REPORT = "weekly_report"
AGREEMENT_NUDGE = "agreement_nudge"
ALERT_FIRING = "alert_firing"
INCIDENT_RESOLVED = "incident_resolved"
WATCH_DEGRADED_OWNER = "watch_degraded_owner"
WATCH_DEGRADED_ON_CALL = "watch_degraded_on_call"
TASK_RELEASED = "task_released"
TASK_VERIFIED = "task_verified"
TASK_STATUS = "task_status"
TASK_ROLLED_BACK = "task_rolled_back"
TASK_KINDS = frozenset({TASK_RELEASED, TASK_VERIFIED, TASK_STATUS, TASK_ROLLED_BACK})
"""The notices on a ClickUp task (a comment, or a move to a status), sent by the ClickUp transport."""
KINDS = TASK_KINDS | frozenset(
    {
        DEPLOY_SUCCEEDED,
        DEPLOY_FAILED,
        MONITORING_OVERDUE_OWNER,
        MONITORING_OVERDUE_ON_CALL,
        ROLLBACK_STARTED,
        ROLLBACK_SUCCEEDED,
        ROLLBACK_FAILED,
        WEEKLY_REPORT,
        AGREEMENT_NUDGE,
        ALERT_FIRING,
        INCIDENT_RESOLVED,
        WATCH_DEGRADED_OWNER,
        WATCH_DEGRADED_ON_CALL,
    }
)

SEND_TASK = "notifications.send"
"""The task that sends one notice (notifications.tasks)."""

MAX_DEDUPE_KEY = 200
"""Notification.dedupe_key's length."""

MAX_TEXT = 39_000
"""Slack truncates a message's text after 40,000 characters; ours is cut (and says so) a little before."""

STALE_SENDING = timedelta(minutes=5)
"""A row `sending` for this long belongs to a worker that died mid-send (the client times out long before)."""

SWEEP_GRACE = timedelta(minutes=2)
"""The sweep queues rows due for this long: their own message (queued on commit or as a retry) was lost."""


class NotificationError(ValueError):
    """A notice that cannot be logged as asked (an unknown kind, no dedupe key, no text)."""


# -- settings ----------------------------------------------------------------------------------------------------
def _max_attempts() -> int:
    return max(1, int(getattr(settings, "SLACK_MAX_ATTEMPTS", 8)))


def retry_wait_seconds(attempts: int) -> float:
    """Wait before try `attempts + 1` after a transient failure: the shared backoff, from
    SLACK_RETRY_BACKOFF_SECONDS up to SLACK_RETRY_MAX_SECONDS."""
    base = float(getattr(settings, "SLACK_RETRY_BACKOFF_SECONDS", 30.0))
    cap = float(getattr(settings, "SLACK_RETRY_MAX_SECONDS", 900.0))
    return backoff_seconds(attempts - 1, base=base, cap=cap)


# -- writing the notice ------------------------------------------------------------------------------------------
def slack_escape(text: str) -> str:
    """Text from people or GitHub (a rollback reason, a tag) as Slack mrkdwn shows it literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention_text(developer: Developer) -> str:
    """`<@U…>` (Slack notifies them) when their Slack member id is known, else their GitHub login."""
    return f"<@{developer.slack_member_id}>" if developer.slack_member_id else slack_escape(developer.login)


def _developers(mention: Iterable[Developer | int]) -> list[Developer]:
    given = list(mention)
    ids = [m for m in given if isinstance(m, int)]
    loaded = {d.pk: d for d in Developer.objects.filter(pk__in=ids)} if ids else {}
    developers: list[Developer] = []
    for m in given:
        developer = loaded.get(m) if isinstance(m, int) else m
        if developer is not None and developer not in developers:
            developers.append(developer)
    return developers


def notify(
    kind: str,
    *,
    dedupe_key: str,
    text: str,
    repository: Repository | None = None,
    mention: Iterable[Developer | int] = (),
    link: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    channel: str | None = None,
    event_at: datetime | None = None,
    news_until: datetime | None = None,
) -> Notification | None:
    """Log a notice and queue its sending (after the caller's transaction commits).

    Returns the new row, or None when a notice with this dedupe key already exists (nothing is sent again).
    The channel is `channel`, else the repository's Slack channel, else SLACK_DEFAULT_CHANNEL (a member id
    posts a direct message). Developers in `mention` with a Slack member id are mentioned (`<@U…>`) at the start
    unless the text already mentions them. `link` is added at the end unless the text already has it. Without
    SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL the row is `logged` and nothing is sent. `event_at` is when what it tells
    of happened (default: now). A notice written after `news_until` (a deploy whose watch window is already over:
    history that a first sync or a backfill read) is kept as `history` and not sent."""
    if kind not in KINDS - TASK_KINDS:
        raise NotificationError(f"unknown notification kind {kind!r}; expected one of {', '.join(sorted(KINDS))}")
    _check_key(dedupe_key)
    if not text.strip():
        raise NotificationError(f"a {kind} notice needs text")

    developers = _developers(mention)
    member_ids = list(dict.fromkeys(d.slack_member_id for d in developers if d.slack_member_id))
    mentions = " ".join(f"<@{m}>" for m in member_ids if f"<@{m}>" not in text)
    full_text = f"{mentions} {text}" if mentions else text
    if link and link not in full_text:
        full_text = f"{full_text}\n<{link}|Open in Trunkline>"
    uncut = None
    if len(full_text) > MAX_TEXT:
        uncut, full_text = full_text, full_text[:MAX_TEXT] + "… (cut: the full notice is in Trunkline's log)"
    target = channel or (repository.slack_channel if repository is not None else "") or ""
    target = target or getattr(settings, "SLACK_DEFAULT_CHANNEL", "")

    return _logged(
        kind,
        dedupe_key=dedupe_key,
        text=full_text,
        transport="slack",
        target=target,
        repository=repository,
        payload={
            "link": link,
            "blocks": blocks,
            "mentions": member_ids,
            "developer_ids": [d.pk for d in developers],
            **({"full_text": uncut} if uncut is not None else {}),
        },
        configured=slack.slack_configured(),
        event_at=event_at,
        news_until=news_until,
    )


def notify_task(
    kind: str,
    *,
    dedupe_key: str,
    notice: TaskNotice,
    repository: Repository | None = None,
    event_at: datetime | None = None,
    news_until: datetime | None = None,
) -> Notification | None:
    """Log a notice on a ClickUp task (a comment, or a move to a status) and queue its sending, as `notify` does for
    Slack: once per dedupe key, retried, recorded. Without ClickUp settings the row is `logged` only."""
    if kind not in TASK_KINDS:
        raise NotificationError(f"{kind!r} is not a notice on a task; expected one of {', '.join(sorted(TASK_KINDS))}")
    _check_key(dedupe_key)
    if not notice.text.strip() or not notice.task.task_id:
        raise NotificationError(f"a {kind} notice needs a task and text")
    return _logged(
        kind,
        dedupe_key=dedupe_key,
        text=notice.text[:MAX_TEXT],
        transport=CLICKUP,
        target=notice.target,
        repository=repository,
        payload=notice.as_payload(),
        configured=clickup_configured(),
        event_at=event_at,
        news_until=news_until,
    )


def _check_key(dedupe_key: str) -> None:
    if not dedupe_key or len(dedupe_key) > MAX_DEDUPE_KEY:
        raise NotificationError(f"a dedupe key of 1 to 200 characters is required, got {dedupe_key!r}")


def _logged(
    kind: str,
    *,
    dedupe_key: str,
    text: str,
    transport: str,
    target: str,
    repository: Repository | None,
    payload: dict[str, Any],
    configured: bool,
    event_at: datetime | None,
    news_until: datetime | None,
) -> Notification | None:
    """The row, once per dedupe key, and its sending queued once the caller's transaction commits."""
    now = timezone.now()
    event_at = min(event_at or now, now)
    late = now - event_at
    history = news_until is not None and now > news_until
    outcome = Outcome.HISTORY if history else Outcome.PENDING if configured else Outcome.LOGGED
    try:
        # The unique dedupe key decides, not a lookup first: of two callers notifying the same thing at the
        # same moment, one inserts and the other gets IntegrityError (PostgreSQL makes it wait for the first).
        with transaction.atomic():
            notification = Notification.objects.create(
                kind=kind,
                dedupe_key=dedupe_key,
                text=text,
                transport=transport,
                target=target[:200],
                repository=repository,
                payload=payload,
                outcome=outcome,
                next_attempt_at=now if outcome == Outcome.PENDING else None,
                event_at=event_at,
                error=f"Learned of {int(late.total_seconds() // 60)} minutes after it happened: no longer news."
                if history
                else "",
            )
    except IntegrityError:
        if Notification.objects.filter(dedupe_key=dedupe_key).exists():
            logger.info("notice %s already logged; not sending it again", dedupe_key)
            return None
        raise
    if history:
        logger.info("notice %s is history (%s old): kept, not sent", dedupe_key, late)
        return notification
    if not configured:
        logger.info("%s is not configured; notice logged only: %s → %s: %s", transport, kind, target or "-", text)
        return notification
    pk = notification.pk
    transaction.on_commit(lambda: notification_enqueue(pk))
    return notification


def notification_enqueue(notification_id: int, *, countdown: float | None = None) -> bool:
    """Hand a row to the broker. When the broker is down the row keeps its next attempt time and the sweep
    queues it later; the caller never fails because of it."""
    return task_queue(SEND_TASK, notification_id, countdown=countdown)


# -- sending -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendResult:
    """What a send did: `outcome` is the row's new outcome, or "skipped" (another worker has it, or it is done)
    or "not_due" (its next attempt is later). `retry_in`: seconds until the row should be tried again."""

    outcome: str
    retry_in: float | None = None
    error: str = ""


def notification_claim(notification_id: int, *, now: datetime) -> datetime | None:
    """Take a due row for sending with one conditional UPDATE; returns the claim's token (its time), or None
    when the row is sent, failed for good, not due yet, or another worker has it. A row left `sending` by a
    worker that died is taken again once stale (Slack may then see it twice; losing it would be worse)."""
    due = Q(outcome__in=[Outcome.PENDING, Outcome.FAILED]) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(outcome=Outcome.SENDING, sending_started_at__lt=now - STALE_SENDING, attempts__lt=_max_attempts())
    taken = Notification.objects.filter(due | stale, pk=notification_id).update(
        outcome=Outcome.SENDING, sending_started_at=now, attempts=F("attempts") + 1
    )
    return now if taken == 1 else None


def _finish(notification_id: int, claimed_at: datetime, **fields: Any) -> bool:
    """Record the outcome, only while the claim is still this worker's."""
    return bool(
        Notification.objects.filter(pk=notification_id, outcome=Outcome.SENDING, sending_started_at=claimed_at).update(
            **fields
        )
    )


Transport = slack.SlackTransport | ClickUpTransport


def notification_send(
    *, notification_id: int, transport: Transport | None = None, now: datetime | None = None
) -> SendResult:
    """Send one logged notice through its transport (Slack, or ClickUp for a notice on a task), at most once at a
    time. Transient failures (5xx, no connection, 429) leave it `failed` with its next attempt time (Retry-After or
    ClickUp's rate limit reset for a 429, else exponential backoff), up to SLACK_MAX_ATTEMPTS tries; permanent ones
    (channel gone or archived, task deleted, bad token) are recorded and not retried."""
    now = now or timezone.now()
    via = Notification.objects.filter(pk=notification_id).values_list("transport", flat=True).first()
    if via is None:
        return SendResult("skipped")
    transport = transport or (clickup_transport() if via == CLICKUP else slack.transport_from_settings())
    if transport is None:
        # Its service was switched off after the notice was queued: it stays in the log, like any unsent notice.
        Notification.objects.filter(pk=notification_id, outcome__in=[Outcome.PENDING, Outcome.FAILED]).update(
            outcome=Outcome.LOGGED, next_attempt_at=None
        )
        return SendResult(Outcome.LOGGED)
    claimed_at = notification_claim(notification_id, now=now)
    if claimed_at is None:
        row = Notification.objects.filter(pk=notification_id).values("outcome", "next_attempt_at").first()
        if row and row["outcome"] in (Outcome.PENDING, Outcome.FAILED) and row["next_attempt_at"] is not None:
            return SendResult("not_due", retry_in=max(0.0, (row["next_attempt_at"] - now).total_seconds()))
        return SendResult("skipped")

    notification = Notification.objects.get(pk=notification_id)
    started = time.monotonic()
    try:
        ts = _deliver(transport, notification)
    except TransportError as exc:
        failure = _Failure(reason=exc.reason, permanent=exc.permanent, wait=exc.retry_after)
    except Exception as exc:  # a bug, not Slack: keep the notice and retry it like an outage, with the reason
        logger.exception("notice %s: sending failed unexpectedly", notification_id)
        failure = _Failure(reason=f"{exc.__class__.__name__}: {exc}", permanent=False, wait=None)
    else:
        _finish(
            notification_id,
            claimed_at,
            outcome=Outcome.SENT,
            sent_at=timezone.now(),
            next_attempt_at=None,
            message_ts=ts[:50],
            transport=transport.name[:20],
            error="",
        )
        return SendResult(Outcome.SENT)
    # The answer's time on the claim's clock: a Retry-After counts from the answer, not from the request.
    answered_at = claimed_at + timedelta(seconds=time.monotonic() - started)
    return _failed(notification, claimed_at, failure, answered_at=answered_at, transport_name=transport.name)


def _deliver(transport: Transport, notification: Notification) -> str:
    payload = notification.payload or {}
    if isinstance(transport, ClickUpTransport):
        return transport.send(TaskNotice.of(payload, notification.text))
    return transport.send(
        slack.SlackMessage(channel=notification.target, text=notification.text, blocks=payload.get("blocks"))
    )


@dataclass(frozen=True)
class _Failure:
    reason: str
    permanent: bool
    wait: float | None


def _failed(
    notification: Notification, claimed_at: datetime, failure: _Failure, *, answered_at: datetime, transport_name: str
) -> SendResult:
    attempts = notification.attempts
    final = {"outcome": Outcome.PERMANENT_FAILURE, "next_attempt_at": None, "transport": transport_name[:20]}
    if failure.permanent:
        logger.warning("notice %s failed permanently: %s", notification.pk, failure.reason)
        _finish(notification.pk, claimed_at, **final, error=failure.reason)
        return SendResult(Outcome.PERMANENT_FAILURE, error=failure.reason)
    if attempts >= _max_attempts():
        error = f"gave up after {attempts} attempts; the last: {failure.reason}"
        logger.warning("notice %s: %s", notification.pk, error)
        _finish(notification.pk, claimed_at, **final, error=error)
        return SendResult(Outcome.PERMANENT_FAILURE, error=error)
    # A 429 names its wait: exactly that (Slack counts early retries against the limit). Otherwise back off.
    delay = failure.wait if failure.wait is not None else retry_wait_seconds(attempts)
    logger.info("notice %s: attempt %s failed (%s); next in %.1fs", notification.pk, attempts, failure.reason, delay)
    _finish(
        notification.pk,
        claimed_at,
        outcome=Outcome.FAILED,
        next_attempt_at=answered_at + timedelta(seconds=delay),
        transport=transport_name[:20],
        error=f"attempt {attempts}: {failure.reason}",
    )
    return SendResult(Outcome.FAILED, retry_in=delay, error=failure.reason)


# -- the sweep and the operator's retry --------------------------------------------------------------------------
def notifications_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue notices whose own message was lost (the broker was down when they were logged, or restarted
    without persistence) and those left `sending` by a dead worker; give up on the ones that died too often."""
    now = now or timezone.now()
    sendable = _sendable()
    if sendable is None:
        return 0
    Notification.objects.filter(
        sendable, outcome=Outcome.SENDING, sending_started_at__lt=now - STALE_SENDING, attempts__gte=_max_attempts()
    ).update(
        outcome=Outcome.PERMANENT_FAILURE,
        next_attempt_at=None,
        error=f"gave up after {_max_attempts()} attempts: the worker stopped while sending it each time",
    )
    due = Q(outcome__in=[Outcome.PENDING, Outcome.FAILED], next_attempt_at__lte=now - SWEEP_GRACE) | Q(
        outcome=Outcome.SENDING, sending_started_at__lt=now - STALE_SENDING
    )
    ids = list(Notification.objects.filter(due, sendable).order_by("created_at").values_list("pk", flat=True)[:limit])
    queued = 0
    for pk in ids:
        if not notification_enqueue(pk):
            break  # the broker is still down: the next sweep tries again
        queued += 1
    return queued


def notifications_retry(*, notification_ids: Iterable[int], now: datetime | None = None) -> int:
    """The operator's "retry now": failed (for now or for good) and logged-only notices go out again, with a
    fresh set of attempts. Only those whose service is configured; returns how many were queued."""
    sendable = _sendable()
    if sendable is None:
        return 0
    now = now or timezone.now()
    given = list(notification_ids)
    # One conditional UPDATE: a row a worker is sending (or has sent) meanwhile is left alone.
    Notification.objects.filter(
        sendable, pk__in=given, outcome__in=[Outcome.PENDING, Outcome.FAILED, Outcome.PERMANENT_FAILURE, Outcome.LOGGED]
    ).update(outcome=Outcome.PENDING, next_attempt_at=now, attempts=0)
    ids = list(
        Notification.objects.filter(pk__in=given, outcome=Outcome.PENDING, next_attempt_at=now).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        transaction.on_commit(partial(notification_enqueue, pk))
    return len(ids)


def _sendable() -> Q | None:
    """The notices whose service is configured now (Slack's, ClickUp's), or None when neither is."""
    slack_on, clickup_on = slack.slack_configured(), clickup_configured()
    if slack_on and clickup_on:
        return Q()
    if slack_on:
        return ~Q(transport=CLICKUP)
    return Q(transport=CLICKUP) if clickup_on else None


def notices_configured() -> bool:
    """Whether any service the notices go to is configured."""
    return _sendable() is not None
