"""What every request passes: a refusal of a NUL character anywhere a page would read it; and the response headers
every page gets: the Content-Security-Policy (django-csp, with GitHub's address added per
request) and, for a signed-in person, a Cache-Control that keeps their pages out of every cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.cache import patch_cache_control


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def github_origins() -> list[str]:
    """Where GitHub is for this Trunkline (github.com, an Enterprise server, or the demo's simulator): avatars come
    from there and the sign-in form posts on to it. Read per request, because tests move GitHub."""
    oauth = settings.SOCIALACCOUNT_PROVIDERS.get("github", {}).get("GITHUB_URL", "https://github.com")
    found = [_origin(settings.GITHUB_URL), _origin(oauth)]
    return list(dict.fromkeys(o for o in found if o))


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """settings.CONTENT_SECURITY_POLICY, plus GitHub's origin for images (avatars) and form-action (sign-in)."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            origins = github_origins()
            parts.update = {**(parts.update or {}), "img-src": origins, "form-action": origins}
        return parts


class SignedInNoStoreMiddleware:
    """A signed-in person's pages are theirs: `Cache-Control: private, no-store` keeps them out of shared caches and
    out of the browser's own store (after sign-out, Back does not show them)."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class RefuseNulMiddleware:
    """A NUL character in the address, its query or a form cannot be stored or looked up (PostgreSQL refuses it in
    text): answer 400 with the reason before any view reads it, instead of a 500 from the database."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        if "\x00" in request.path or _holds_nul(request.GET.lists()):
            raise BadRequest("The address holds a NUL character: Trunkline cannot look that up.")
        form = request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        # The webhook endpoint stores what GitHub sent and fails it in words (delivery.github.webhook_input).
        if form and request.path != reverse("github-webhook") and _holds_nul(request.POST.lists()):
            raise BadRequest("The form holds a NUL character: Trunkline cannot store that.")
        return self.get_response(request)


def _holds_nul(pairs: Any) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in pairs)
