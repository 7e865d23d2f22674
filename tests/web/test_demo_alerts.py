"""The demo's alerts: its repositories read their alerts by service name, and one simulated alert, posted to the
running web server as Alertmanager posts it, becomes an incident of the newest release, then resolves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from delivery.flows.incidents import alerts_received
from delivery.monitoring.models import AlertDelivery, Incident
from delivery.web.management.commands.demo import DEMO_ALERT_MINUTES, Command
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.rollbacks.helpers import history

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_sets_matchers_unless_an_admin_did() -> None:
    synced = RepositoryFactory(name="api", full_name="acme/api")
    tuned = RepositoryFactory(name="web", full_name="acme/web", alert_matchers='team="web"')
    Command()._demo_alert_matchers()
    synced.refresh_from_db()
    assert (synced.alert_matchers, synced.alert_production_matchers) == ('service="api"', 'env="production"')
    tuned.refresh_from_db()
    assert (tuned.alert_matchers, tuned.alert_production_matchers) == ('team="web"', "")


def test_the_demo_s_simulated_alert_is_an_incident_of_the_newest_release_and_resolves(
    live_server: Any, settings: Any
) -> None:
    settings.ALERTMANAGER_WEBHOOK_TOKEN = "demo-alertmanager-token"
    made = history(member("olga").developer, member("pete").developer)  # v1.2, the newest, 10 minutes ago
    command = Command()
    command._demo_alert_matchers()
    url = live_server.url + "/"

    command._demo_alert_fires(url)
    assert alerts_received(delivery_id=AlertDelivery.objects.get().pk) == "processed"  # the worker's part
    incident = Incident.objects.get()
    assert incident.release == made["v1.2"] and incident.resolved_at is None

    command._demo_alert_fires(url)  # a restarted demo does not fire it again
    assert AlertDelivery.objects.count() == 1
    command._demo_alert_resolves(url)  # not yet
    assert AlertDelivery.objects.count() == 1
    assert command.demo_alert is not None
    command.demo_alert = (command.demo_alert[0], command.demo_alert[1], command.demo_alert[2] - DEMO_ALERT_MINUTES * 61)
    command._demo_alert_resolves(url)
    resolved = AlertDelivery.objects.order_by("-pk").first()
    assert resolved is not None and alerts_received(delivery_id=resolved.pk) == "processed"
    incident.refresh_from_db()
    assert incident.resolved_at is not None and incident.resolved_at <= timezone.now() + timedelta(seconds=1)
