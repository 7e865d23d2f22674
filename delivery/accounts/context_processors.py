"""What every page's header shows: who is on call now, and the signed-in person's role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from delivery.accounts.oncall import on_call_now
from delivery.accounts.roles import admin_logins, role_of


def people(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"github_org": settings.GITHUB_ORG}
    # Lazy: a page that does not render the header (an htmx partial) asks nothing.
    return {
        "github_org": settings.GITHUB_ORG,
        "on_call": SimpleLazyObject(lambda: on_call_now() or False),
        "my_role": SimpleLazyObject(lambda: role_of(user) or ""),
        "admins": SimpleLazyObject(admin_logins),  # who gives roles (the 403 page names them)
    }
