"""A refusal (403 from a role check) is logged as one line saying who was refused what, once: no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _printed_by(record: logging.LogRecord) -> list[logging.Handler]:
    """The console handlers that would print this record (pytest's capture handlers aside)."""
    found: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        found += [h for h in logger.handlers if type(h) is logging.StreamHandler and h.filter(record)]
        logger = logger.parent if logger.propagate else None
    return found


@pytest.mark.parametrize("debug", [False, True])
def test_a_refusal_logs_one_line_once(client: Any, caplog: Any, settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    with caplog.at_level(logging.INFO):
        assert client.get(reverse("team-settings")).status_code == 403  # a developer
    records = [r for r in caplog.records if r.name.startswith("django")]
    assert len(records) == 1, records
    line = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(records[0])
    assert line == (
        "WARNING django.request: Forbidden (Permission denied): /settings/team/ (tess): "
        "Your role (developer) does not allow changing roles and the on-call rotation: only admins can."
    )
    assert len(_printed_by(records[0])) == 1


def test_a_server_error_keeps_its_traceback(caplog: Any, settings: Any) -> None:
    from django.test import Client

    settings.ROOT_URLCONF = "tests.core.error_urls"
    with caplog.at_level(logging.INFO):
        assert Client(raise_request_exception=False).get("/boom/").status_code == 500
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert "Traceback" in logging.Formatter().format(record) and "RuntimeError: a bug" in caplog.text
