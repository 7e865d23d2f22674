"""The product's own error pages (with DEBUG off, as in the demo and production): 403, 404, 405 and a 500 that
renders without the request's context or the database."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import RepositoryFactory


@pytest.mark.django_db
def test_a_form_address_opened_as_a_page_answers_with_the_product_s_405(client: Any, caplog: Any) -> None:
    repository = RepositoryFactory()
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = client.get(reverse("repository-sync", args=[repository.pk]))  # a developer may sync, by POST
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        f"Method Not Allowed (GET): /repositories/{repository.pk}/sync/"
    ]
    body = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "This address takes a form, not a visit" in body and "Back to Trunkline" in body
    assert 'class="topbar"' in body and "Sign out" in body  # the product's layout, signed in


@pytest.mark.django_db
def test_403_and_404_are_the_product_s_pages(client: Any) -> None:
    refused = client.get(reverse("team-settings"))
    assert refused.status_code == 403 and "Not allowed with your role" in refused.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "Nothing here" in missing.content.decode()
    assert "Using the URLconf" not in missing.content.decode()  # not Django's debug page listing every URL


def test_500_is_the_product_s_page_without_the_request_s_context_or_the_database(settings: Any) -> None:
    # No django_db mark: the page must not touch the database (it may be what failed).
    settings.ROOT_URLCONF = "tests.core.error_urls"
    response = Client(raise_request_exception=False).get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on Trunkline's side" in body and 'href="/static/css/trunkline.css"' in body
    assert 'class="topbar"' in body and "a bug" not in body and "Traceback" not in body
