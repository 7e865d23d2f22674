"""Alertmanager's alerts shown on other apps' pages without their views knowing of them: the alerts of a watch's
window (the watch page) and a release's incidents (the release page), each read through the selectors."""

from __future__ import annotations

from typing import Any

from django import template

from delivery.monitoring.alert_selectors import firing_alerts, incidents_of_release
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Release

register = template.Library()


@register.inclusion_tag("monitoring/_watch_alerts.html")
def watch_alerts(session: MonitoringSession) -> dict[str, Any]:
    """The production alerts that fired during the watch's window so far (one query)."""
    repository = session.release.repository
    return {"alerts": firing_alerts(session), "repository": repository, "matchers": bool(repository.alert_matchers)}


@register.inclusion_tag("monitoring/_release_incidents.html", takes_context=True)
def release_incidents(context: dict[str, Any], release: Release) -> dict[str, Any]:
    """The release's incidents, and for admins the form that dismisses a false one (two queries)."""
    return {
        "incidents": incidents_of_release(release=release),
        "may_dismiss": context["request"].user.has_perm("accounts.manage_team"),
        "csrf_token": context.get("csrf_token"),
    }
