"""The notices on ClickUp tasks, and their words: a comment on each task a release's changes name when it reaches
production, another when its watch is signed off "keep" (and, where the repository names one, the task's move to
its "verified" status), and one when a rollback takes it out of production. Each is logged through
`notifications.service.notify_task` with a dedupe key, so it is written once however often a flow sees the event,
retried while ClickUp is down, and shown in the notification log. ClickUp's comments are plain text: the words are
functions, one paragraph each, with the addresses written out (ClickUp links them).

Nothing here runs without ClickUp settings: the tasks are still linked and shown, nobody is told."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from delivery.clickup.client import configured
from delivery.core.links import page_absolute_url
from delivery.monitoring.models import MonitoringSession
from delivery.notifications.clickup import TaskNotice
from delivery.notifications.service import TASK_RELEASED, TASK_ROLLED_BACK, TASK_STATUS, TASK_VERIFIED, notify_task
from delivery.pipeline.models import Change, Release
from delivery.pipeline.task_links import LinkedTask, release_tasks
from delivery.rollbacks.models import Rollback


def when(moment: datetime | None) -> str:
    """`Mon 16 Nov 2026 12:51 UTC`, in the organization's time zone."""
    return f"{timezone.localtime(moment):%a %d %b %Y %H:%M %Z}" if moment else "at a time not known"


def release_words(release: Release) -> str:
    """`acme/api v1.4.2`."""
    return f"{release.repository.full_name} {release.tag_name or release.sha[:7]}"


def changes_words(changes: Iterable[Change]) -> str:
    """`acme/api#42 Add the export (ana); acme/api#43 Fix totals (bo)`."""
    return "; ".join(
        f"{c.repository.full_name}#{c.pull_request.number if c.pull_request else '?'} {c.title}"
        + (f" ({c.author.login})" if c.author else "")
        for c in changes
    )


def released_text(release: Release, task: LinkedTask, watches: list[MonitoringSession]) -> str:
    creator = release.deployment.creator
    by = f", deployed by {creator.login}" if creator else ""
    lines = [
        f"Released to {release.environment}: {release_words(release)}, {when(release.deployed_at)}{by}.",
        f"What it brought for this task: {changes_words(task.changes)}.",
        f"Release: {page_absolute_url('release', release.pk)}",
    ]
    lines += [f"Watch ({w.owner.login}): {page_absolute_url('watch', w.pk)}" for w in watches]
    if task.criteria and watches:
        lines.append(f"Its acceptance criteria ({len(task.criteria)}) are on the watch, to verify in production.")
    return "\n".join(lines)


def verified_text(session: MonitoringSession, release: Release, task: LinkedTask) -> str:
    minutes = release.repository.monitoring_window_minutes
    by = session.signed_off_by.get_username() if session.signed_off_by else session.owner.login
    lines = [
        f"Verified in production: {release_words(release)} was watched for its {minutes}-minute window and kept "
        f"by {by}, {when(session.signed_off_at)}.",
        f"Changes: {changes_words(task.changes)}.",
    ]
    ticked = [i.text for i in session.items.all() if i.checked_at and i.key.startswith("task-")]
    if ticked:
        lines.append("Acceptance criteria checked in production: " + "; ".join(ticked) + ".")
    if session.notes:
        lines.append(f"Notes: {session.notes}")
    lines.append(f"Watch: {page_absolute_url('watch', session.pk)}")
    return "\n".join(lines)


def rolled_back_text(rollback: Rollback, release: Release, task: LinkedTask) -> str:
    by = rollback.requested_by.get_username() if rollback.requested_by else "someone"
    return "\n".join(
        [
            f"Rolled back: {release_words(release)} was taken out of production by {by}, {when(rollback.finished_at)}"
            f" (back to {rollback.target_tag}).",
            f"Reason: {rollback.reason}",
            f"Changes it undid for this task: {changes_words(task.changes)}.",
            f"Rollback: {page_absolute_url('rollback', rollback.pk)}",
        ]
    )


def _key(kind: str, about: object, task: LinkedTask) -> str:
    return f"{kind}:{about}:{task.reference.task_id}"[:200]


# -- sending -----------------------------------------------------------------------------------------------------
def released(release: Release) -> int:
    """A comment on each task the release's changes name, once per release and task; news while its watch window
    runs (a release learned of later is history, as its Slack notice). Returns how many were new."""
    if not configured():
        return 0
    watches = list(release.monitoring_sessions.select_related("owner").order_by("owner__login"))
    news_until = (
        release.deployed_at + timedelta(minutes=release.repository.monitoring_window_minutes)
        if release.deployed_at
        else None
    )
    told = 0
    for task in release_tasks(release_ids=[release.pk]):
        authors = {c.author_id for c in task.changes}
        made = notify_task(
            TASK_RELEASED,
            dedupe_key=_key(TASK_RELEASED, release.pk, task),
            notice=TaskNotice(
                task.reference,
                released_text(release, task, [w for w in watches if w.owner_id in authors]),
                label=task.label,
            ),
            repository=release.repository,
            event_at=release.deployed_at,
            news_until=news_until,
        )
        told += made is not None
    return told


def verified(session: MonitoringSession) -> int:
    """The watch was signed off "keep": a comment on each task its owner's changes in the covered releases name, and
    the move to the repository's "verified" status when it names one; once per watch and task."""
    if not configured() or session.decision != MonitoringSession.Decision.KEEP:
        return 0
    status = session.release.repository.clickup_verified_status
    told = 0
    for release in session.releases.select_related("repository").order_by("deployed_at", "pk"):
        for task in release_tasks(release_ids=[release.pk], author_id=session.owner_id):
            text = verified_text(session, release, task)
            notice = TaskNotice(task.reference, text, label=task.label)
            key = _key(TASK_VERIFIED, session.pk, task)
            told += notify_task(TASK_VERIFIED, dedupe_key=key, notice=notice, repository=release.repository) is not None
            if status:
                words = f"Moved to “{status}”: verified in production."
                move = TaskNotice(task.reference, words, status=status, label=task.label)
                key = _key(TASK_STATUS, session.pk, task)
                notify_task(TASK_STATUS, dedupe_key=key, notice=move, repository=release.repository)
    return told


def rolled_back(rollback: Rollback) -> int:
    """A rollback succeeded: a comment with its reason on each task the changes it undid name, once per rollback and
    task."""
    if not configured():
        return 0
    told = 0
    for release in rollback.releases_undone.select_related("repository").order_by("deployed_at", "pk"):
        for task in release_tasks(release_ids=[release.pk]):
            notice = TaskNotice(task.reference, rolled_back_text(rollback, release, task), label=task.label)
            key = _key(TASK_ROLLED_BACK, rollback.pk, task)
            told += (
                notify_task(TASK_ROLLED_BACK, dedupe_key=key, notice=notice, repository=release.repository) is not None
            )
    return told
