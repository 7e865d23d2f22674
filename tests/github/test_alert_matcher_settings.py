"""A repository's alert matchers, edited on its settings page: read as Alertmanager reads them, kept as it writes
them back, refused in words when they are not matchers, audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.accounts.models import AuditEvent
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.github.test_repository_settings import _form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(member("ada", role="admin"))
    return client


def test_an_admin_sets_the_alert_matchers_and_they_are_kept_as_alertmanager_writes_them(admin: Client) -> None:
    repo = RepositoryFactory()
    url = reverse("repository-settings", args=[repo.pk])
    assert "Alert matchers" in admin.get(url).content.decode()

    answer = admin.post(
        url,
        _form_data(
            repo, alert_matchers='{service=billing, team=~"pay.*"}', alert_production_matchers="env = production"
        ),
    )

    assert answer.status_code == 302
    repo.refresh_from_db()
    assert repo.alert_matchers == 'service="billing", team=~"pay.*"'
    assert repo.alert_production_matchers == 'env="production"'
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SETTINGS_CHANGED)
    assert "Alert matchers" in event.summary and "Production alert matchers" in event.summary


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"alert_matchers": "service"}, "alert_matchers", "is not a matcher"),
        ({"alert_matchers": 'service=~"(x"'}, "alert_matchers", "not a regular expression"),
        ({"alert_matchers": 'service=~"(?!x).*"'}, "alert_matchers", "RE2"),
        ({"alert_matchers": "service=" + "x" * 488 + ",b=c"}, "alert_matchers", "500 characters"),
        ({"alert_production_matchers": 'env="production"'}, "alert_matchers", "Say which alerts are this repository's"),
    ],
)
def test_matchers_that_cannot_work_are_refused_in_words(
    admin: Client, changes: dict[str, Any], field: str, words: str
) -> None:
    repo = RepositoryFactory()
    answer = admin.post(reverse("repository-settings", args=[repo.pk]), _form_data(repo, **changes))
    assert answer.status_code == 400
    assert any(words in e for e in answer.context["form"].errors[field]), answer.context["form"].errors
    repo.refresh_from_db()
    assert repo.alert_matchers == repo.alert_production_matchers == ""
