"""Demo and production settings: the demo runs with DEBUG off on its own flag (TRUNKLINE_DEMO=1), with its
defaults and plain http; production refuses to start without a secret key and passes `check --deploy`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(SERVER_NAME="127.0.0.1")
css = client.get("/static/css/trunkline.css")
missing = client.get("/no-such-page/")
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": bool(settings.SECRET_KEY),
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "GITHUB_WEBHOOK_SECRET": settings.GITHUB_WEBHOOK_SECRET,
    "GITHUB_OAUTH_CLIENT_ID": settings.GITHUB_OAUTH_CLIENT_ID,
    "TRUNKLINE_PUBLIC_URL": settings.TRUNKLINE_PUBLIC_URL,
    "css": css.status_code,
    "missing": [missing.status_code, "Nothing here" in missing.content.decode()],
}))
"""


def _run(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "TRUNKLINE_DEMO", "SECRET_KEY", "ALLOWED_HOSTS")}
    clean.update(
        DJANGO_SETTINGS_MODULE="delivery.settings",
        TRUNKLINE_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        PYTHONPATH=str(ROOT),
        **env,
    )
    for name in ("SECURE_SSL_REDIRECT", "GITHUB_WEBHOOK_SECRET", "GITHUB_OAUTH_CLIENT_ID", "STATIC_ROOT"):
        clean.pop(name, None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def test_the_demo_runs_with_debug_off_its_defaults_plain_http_and_static_files(tmp_path: Path) -> None:
    done = _run(tmp_path, ["-c", PROBE], TRUNKLINE_DEMO="1", PORT="8100")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["DEBUG"] is False and seen["SECRET_KEY"]
    assert "127.0.0.1" in seen["ALLOWED_HOSTS"] and "localhost" in seen["ALLOWED_HOSTS"]
    assert (seen["SECURE_SSL_REDIRECT"], seen["SESSION_COOKIE_SECURE"], seen["CSRF_COOKIE_SECURE"]) == (
        False,
        False,
        False,
    )
    assert seen["GITHUB_WEBHOOK_SECRET"] and seen["GITHUB_OAUTH_CLIENT_ID"] == "trunkline-demo"
    assert seen["TRUNKLINE_PUBLIC_URL"] == "http://127.0.0.1:8100"
    assert seen["css"] == 200  # WhiteNoise serves the files where they are: no collectstatic, no DEBUG
    assert seen["missing"] == [404, True]  # the product's 404, not Django's debug page


@pytest.mark.parametrize("debug", ["0", "1"])
def test_without_the_demo_flag_there_is_no_default_secret_key(tmp_path: Path, debug: str) -> None:
    done = _run(tmp_path, ["-c", "import django; django.setup()"], DEBUG=debug)
    assert done.returncode != 0 and "SECRET_KEY must be set" in done.stderr


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="trunkline.example.com",
        DEBUG="0",
    )
    assert done.returncode == 0, done.stdout + done.stderr
