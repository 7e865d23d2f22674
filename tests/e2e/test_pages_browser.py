"""Every page in a real browser, at a laptop's width (1366 px) and a phone's (390 px), with the simulator's
organization synced as data: no page is wider than the screen (the board's columns scroll sideways inside it, on
purpose), axe-core finds no WCAG 2.0/2.1 A or AA violation, every focus ring reaches 3:1 on its background, and the
Content-Security-Policy refuses nothing (so nothing on the page relies on inline script or style)."""

from __future__ import annotations

import json
import os
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from delivery.flows.changes import repository_changed
from delivery.flows.incidents import alerts_received, incidents_followed
from delivery.flows.reports import weekly_reports_built
from delivery.flows.watches import watches_open
from delivery.github.models import Repository, WebhookDelivery
from delivery.monitoring.alertmanager import MalformedAlerts, alert_delivery_receive
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Change, Stage
from delivery.reports.models import Agreement
from delivery.reports.weeks import week_just_ended
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import live_release, rollback_targets
from delivery.simulator.server import SimulatorServer
from tests.conftest import member, simulator_client, sync_all
from tests.e2e.conftest import checked, context_for, page_problems
from tests.factories import WebhookDeliveryFactory
from tests.monitoring import alerting
from tests.monitoring.helpers import readings_store, sentry_reading_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# BROWSER_SHOTS=/some/folder keeps a full-page screenshot of every page at both widths, to look at.
SHOTS = os.environ.get("BROWSER_SHOTS", "")


@dataclass
class Visit:
    name: str
    path: str
    who: str = "admin"  # admin, developer (refused the admin pages) or anonymous
    status: int = 200


def organization(github: SimulatorServer) -> dict[str, Any]:
    """The simulator's organization synced and derived, as the demo has it, plus what a sync does not bring:
    signed-in people, a rollback and webhook deliveries."""
    client = simulator_client(github)
    sync_all(client, github.world.org_login)
    client.close()
    repositories = list(Repository.objects.filter(unavailable_reason="").order_by("name"))
    for repository in repositories:
        repository_changed(repository_id=repository.pk)
    # Watches for each repository's latest release, as if it had just gone out (the history is older).
    releases = []
    for repository in repositories:
        live = live_release(repository)
        if live is not None and live.owners.exists():
            releases.append(live)
            watches_open(repository_id=repository.pk, now=live.deployed_at + timedelta(minutes=5))
    session = MonitoringSession.objects.order_by("-window_starts_at").first()
    assert session is not None and releases, "the simulator's history has no production release with an owner"
    admin = member(session.owner.login, role="admin")  # signed in as the owner of a watch: it has their checklist
    readings_store(session, 2)  # what production's signals read: charts, the verdict, Sentry's issues
    sentry_reading_store(session)
    developer = member("dana", role="developer")
    release = session.release
    target = rollback_targets(release)[0]
    rollback = Rollback.objects.create(
        repository=release.repository,
        environment=release.environment,
        from_release=release,
        target_release=target,
        target_tag=target.tag_name,
        target_sha=target.sha,
        requested_by=admin,
        reason="Checkout errors since the deploy",
        method=release.repository.rollback_method,
        idempotency_key="pages-browser",
        state=Rollback.State.FAILED,
        error="The rollback workflow run failed: see its log.",
        dispatched_at=timezone.now(),
        finished_at=timezone.now(),
    )
    change = (
        Change.objects.filter(repository=release.repository, stage=Stage.IN_PRODUCTION, pull_request__isnull=False)
        .order_by("-production_at")
        .first()
    )
    WebhookDeliveryFactory(repository_full_name=release.repository.full_name)
    failed = WebhookDeliveryFactory(
        event="deployment_status",
        action="created",
        outcome=WebhookDelivery.Outcome.FAILED,
        error="KeyError: 'deployment' — the payload has no deployment object",
        attempts=3,
        body=json.dumps(  # as GitHub sends it: long lines, so the payload box scrolls on a phone
            {"action": "created", "deployment_status": {"state": "success", "url": "x" * 300}, "sender": {}},
            indent=2,
        ).encode(),
    )
    _alerts(release)
    other = Change.objects.exclude(author=None).exclude(author__login=admin.username).order_by("-pk").first()
    Agreement.objects.create(kind=Agreement.Kind.PICKUP, threshold=0.5)  # the reports' section 2 lists its breaks
    Agreement.objects.create(kind=Agreement.Kind.PR_SIZE, threshold=300)
    week = week_just_ended(timezone.now())
    reports = [b.report for b in weekly_reports_built(week=week, post=False)]
    return {
        "week": week.label,
        "team_slug": next((r.team_slug for r in reports if r.team_slug), ""),
        "admin": admin,
        "developer": developer,
        "session": session,
        "release": release,
        "rollback": rollback,
        "change": change,
        "repository": release.repository,
        "delivery": failed,
        "person": other.author.login,
    }


def _alerts(release: Any) -> None:
    """Alertmanager's alerts as it delivers them: one firing on the watched release (an incident), one resolved, one
    no repository claims, and a message that is not Alertmanager's (refused, kept)."""
    repository = release.repository
    repository.alert_matchers = f'service="{repository.name}"'
    repository.save(update_fields=["alert_matchers"])
    mine = {"alertname": "HighErrorRate", "service": repository.name, "env": "production", "severity": "page"}
    started = (release.deployed_at or timezone.now()) + timedelta(minutes=2)
    body = alerting.message(
        alerting.alert(mine, starts_at=started, summary="5xx ratio above 2 % for 2 minutes"),
        alerting.alert({**mine, "alertname": "Latency"}, starts_at=started, ends_at=started + timedelta(minutes=3)),
        alerting.alert({"alertname": "DiskFull", "service": "warehouse", "instance": "db-1:9100"}, starts_at=started),
    )
    receipt = alert_delivery_receive(body=json.dumps(body).encode())
    alerts_received(delivery_id=receipt.delivery_id)
    incidents_followed(repository_id=repository.pk, now=started)
    with suppress(MalformedAlerts):
        alert_delivery_receive(body=b'{"version": "3", "alerts": []}')


def visits(data: dict[str, Any]) -> list[Visit]:
    repository, release = data["repository"], data["release"]
    return [
        Visit("board", "/board/"),
        Visit("board-repository", f"/board/?repository={repository.full_name}"),
        Visit("board-person", f"/board/?person={data['person']}"),
        Visit("board-no-such-repository", "/board/?repository=acme/nope"),
        Visit("my-queue", "/me/"),
        Visit("team", "/team/"),
        Visit("person", f"/people/{data['person']}/"),
        Visit("on-call", "/on-call/"),
        Visit("rollback-confirm", f"/releases/{release.pk}/rollback/"),
        Visit("rollback", f"/rollbacks/{data['rollback'].pk}/"),
        Visit("watch", f"/monitoring/{data['session'].pk}/"),
        Visit("change", f"/changes/{data['change'].pk}/"),
        Visit("release", f"/releases/{release.pk}/"),
        Visit("repositories", "/repositories/"),
        Visit("repository", f"/repositories/{repository.pk}/"),
        Visit("repository-settings", f"/repositories/{repository.pk}/settings/"),
        Visit("team-settings", "/settings/team/"),
        Visit("metrics", "/metrics/?period=quarter"),
        Visit("metrics-evidence", "/metrics/evidence/?period=quarter&figure=recovery_time"),
        Visit("metrics-bad-filter", "/metrics/?from=2026-01-01&to=never", status=400),
        Visit("reports", "/reports/"),
        Visit("report", f"/reports/{data['week']}/"),
        *([Visit("team-report", f"/reports/{data['week']}/teams/{data['team_slug']}/")] if data["team_slug"] else []),
        Visit("agreements", "/agreements/"),
        Visit("agreement-settings", "/settings/agreements/"),
        Visit("agreement-preview", "/settings/agreements/?kind=pickup&team="),
        Visit("agreement-forbidden", "/settings/agreements/", who="developer", status=403),
        Visit("tokens", "/settings/tokens/"),
        Visit("webhook-deliveries", "/operations/webhooks/"),
        Visit("webhook-delivery", f"/operations/webhooks/{data['delivery'].pk}/"),
        Visit("alerts", "/operations/alerts/"),
        Visit("alerts-unmatched", "/operations/alerts/?unmatched=1"),
        Visit("sign-in", "/accounts/login/", who="anonymous"),
        Visit("forbidden", "/settings/team/", who="developer", status=403),
        Visit("not-found", f"/changes/{Change.objects.order_by('-pk').first().pk + 1000}/", status=404),
        Visit("method-not-allowed", f"/repositories/{repository.pk}/sync/", status=405),
    ]


def test_every_page_fits_a_phone_passes_axe_and_keeps_to_the_content_security_policy(
    live_server: Any, browser: Browser, live_settings: Any, github: SimulatorServer
) -> None:
    live_settings.GITHUB_ORG = github.world.org_login
    data = organization(github)
    problems: dict[str, list[str]] = {}
    for width, viewport in WIDTHS.items():
        contexts = {
            "admin": context_for(browser, live_server, data["admin"], viewport=viewport),
            "developer": context_for(browser, live_server, data["developer"], viewport=viewport),
            "anonymous": browser.new_context(viewport=viewport),
        }
        console: list[str] = []
        pages: dict[str, Page] = {}
        for who, context in contexts.items():
            checked(context).add_init_script(script="window.__holdRefreshes = true;")
            pages[who] = context.new_page()  # one tab each, reused: a new tab per page costs a second
            pages[who].on("console", lambda m, seen=console: seen.append(m.text) if m.type == "error" else None)
        for visit in visits(data):
            page = pages[visit.who]
            console.clear()
            response = page.goto(live_server.url + visit.path)
            assert response is not None and response.status == visit.status, (visit, response and response.status)
            policy = response.headers["content-security-policy"].split("; ")
            assert "script-src 'self'" in policy and "style-src 'self'" in policy, (visit, policy)
            found = page_problems(page, focus=width == "desktop")  # the colours do not change with the width
            found += [
                f"console: {text}"
                for text in console
                if not (visit.status >= 400 and text.startswith("Failed to load resource"))  # its own status
            ]
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{SHOTS}/{visit.name}-{viewport['width']}.png", full_page=True)
            if found:
                problems[f"{visit.name} at {viewport['width']} px ({visit.path})"] = found
        for context in contexts.values():
            context.close()
    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items())
    assert not problems, f"{len(problems)} page(s) with problems:\n{report}"


def test_ticking_a_checklist_item_saves_it_with_no_inline_script(
    live_server: Any, browser: Browser, live_settings: Any
) -> None:
    from tests.factories import RepositoryFactory
    from tests.rollbacks.helpers import release

    olga = member("olga")
    repository = RepositoryFactory(name="api", full_name="acme/api")
    watched = release(repository, "v1.2", at=timezone.now() - timedelta(minutes=5), owners=[olga.developer])
    watches_open(repository_id=repository.pk)
    session = MonitoringSession.objects.get(release=watched)
    context = checked(context_for(browser, live_server, olga, viewport=WIDTHS["phone"]))
    page = context.new_page()
    page.goto(f"{live_server.url}/monitoring/{session.pk}/")
    first = page.locator(".check-item").first
    first.get_by_role("checkbox").check()  # saves by itself (data-submit-on-change), swapped in by htmx
    page.locator(".check-item.is-checked").first.wait_for(timeout=10_000)
    assert session.items.filter(checked_at__isnull=False).count() == 1
    assert page.evaluate("window.__cspViolations") == []
    context.close()
