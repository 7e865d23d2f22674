"""Writes of the repository pages: an admin's save of a repository's delivery settings, with its audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent
from delivery.core.stamps import FIGURES, stamp_move
from delivery.github.forms import RepositorySettingsForm


@transaction.atomic
def repository_settings_save(
    *, form: RepositorySettingsForm, actor: Any, request: HttpRequest | None = None
) -> list[str]:
    """Save a valid settings form; a save that changes something is an audit event naming what changed, written
    with it. Returns the labels of the settings changed (none for a save of what was there)."""
    repository = form.instance
    changed = form.changed_settings
    form.save()
    if changed:
        stamp_move(FIGURES)  # the production environment, the repositories followed
        audit(
            request,
            AuditEvent.Verb.SETTINGS_CHANGED,
            actor=actor,
            repository=repository,
            target_type="repository",
            target_id=str(repository.pk),
            summary=f"{repository.full_name} settings: {', '.join(changed)}",
        )
    return changed
