"""Every page needs sign-in (Django's LoginRequiredMiddleware), and a live refresh after the session ended sends
the whole page to sign-in instead of swapping the sign-in form into a board column."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    # django-stubs narrows Django's return to a redirect; an htmx request gets a 204 with HX-Redirect instead.
    def handle_no_permission(self, request: HttpRequest, view_func: Any) -> HttpResponse:  # type: ignore[override]
        htmx = getattr(request, "htmx", None)
        if not htmx:
            return super().handle_no_permission(request, view_func)
        back_to = htmx.current_url_abs_path or "/"
        login = resolve_url(self.get_login_url(view_func))
        return HttpResponse(status=204, headers={"HX-Redirect": f"{login}?{urlencode({REDIRECT_FIELD_NAME: back_to})}"})
