"""The headers every page carries: a Content-Security-Policy that allows scripts and styles from Trunkline only
(and GitHub's address for avatars and the sign-in hand-off), and `Cache-Control: private, no-store` on a signed-in
person's pages. The templates hold nothing the policy would refuse: no inline script, event handler or style."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; style-src 'self'; font-src 'self'; "
    "img-src 'self' https://avatars.githubusercontent.com {github}; base-uri 'self'; form-action 'self' {github}; "
    "frame-ancestors 'none'; connect-src 'self'"
)


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_a_signed_in_page_has_the_policy_and_is_kept_out_of_every_cache(client: Any, settings: Any) -> None:
    settings.GITHUB_URL = "https://github.example.com"
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"GITHUB_URL": "https://github.example.com"}}
    response = client.get(reverse("board"))
    assert response.status_code == 200
    assert _directives(response["Content-Security-Policy"]) == _directives(
        POLICY.format(github="https://github.example.com")
    )
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}


def test_htmx_refreshes_and_refusals_of_a_signed_in_person_are_not_stored_either(client: Any) -> None:
    partial = client.get(reverse("board"), headers={"HX-Request": "true"})
    assert "no-store" in partial["Cache-Control"] and "private" in partial["Cache-Control"]
    refused = client.get(reverse("team-settings"))  # tess is a developer
    assert refused.status_code == 403
    assert "no-store" in refused["Cache-Control"] and "Content-Security-Policy" in refused


def test_the_sign_in_page_has_the_policy_with_githubs_sign_in_address(anonymous_client: Any) -> None:
    response = anonymous_client.get(reverse("account_login"))
    assert response.status_code == 200
    directives = _directives(response["Content-Security-Policy"])
    github = settings.SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"]  # the sign-in simulator's, in tests
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert github in directives["form-action"]  # the sign-in form's POST is redirected on to GitHub


def test_htmx_adds_no_inline_style_and_evaluates_nothing(client: Any) -> None:
    body = client.get(reverse("board")).content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'", body)
    assert config is not None
    assert '"includeIndicatorStyles": false' in config.group(1) and '"allowEval": false' in config.group(1)


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>"  # a script element without src
    r"|\son[a-z]+\s*="  # an event handler attribute
    r"|\sstyle\s*="  # a style attribute
    r"|<style\b"  # a style element
    r"|\shx-on"  # htmx's inline handlers (hx-on:*, hx-on::*)
    r"|javascript:",
    re.IGNORECASE,
)


COMMENTS = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.DOTALL)


def test_no_template_has_inline_script_handlers_or_styles() -> None:
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = COMMENTS.sub(lambda m: "\n" * m.group().count("\n"), path.read_text())  # keeps line numbers
        found += [
            f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
            for n, line in enumerate(text.splitlines(), 1)
            if INLINE.search(line)
        ]
    assert not found, "\n".join(found)
