"""The metrics API for people who chart elsewhere: `GET /api/v1/metrics/`, its evidence and its OpenAPI document.
A personal API token (`Authorization: Bearer <token>`) or the browser's session; JSON answers, errors in words."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from delivery.accounts.models import Role
from delivery.accounts.roles import role_of
from delivery.accounts.tokens import token_user
from delivery.metrics.cached import remembered
from delivery.metrics.evidence import evidence, page_number
from delivery.metrics.figures import metrics
from delivery.metrics.openapi import document
from delivery.metrics.scope import Scope, ScopeError, scope_from


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _caller(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Refused(401, "Send the token as 'Authorization: Bearer <token>'.")
        user = token_user(raw.strip(), request=request)
        if user is None:
            raise Refused(401, "This token is unknown, revoked or expired: make a new one on your API tokens page.")
        return user
    if request.user.is_authenticated:
        return request.user
    raise Refused(401, "Sign in, or send a personal API token as 'Authorization: Bearer <token>'.")


def may_see(user: Any, scope: Scope) -> bool:
    """Team and organization figures are everyone's; one person's are theirs and the admins' only."""
    if role_of(user) is None:
        return False
    if scope.developer is None:
        return True
    return role_of(user) == Role.ADMIN or scope.developer.user_id == user.pk


def _answer(request: HttpRequest, build: Any) -> JsonResponse:
    try:
        user = _caller(request)
        scope = scope_from(request.GET, default_preset="4w")
        if not may_see(user, scope):
            raise Refused(403, "One person's figures are shown to that person and to admins only.")
        return JsonResponse(build(scope), json_dumps_params={"ensure_ascii": False})
    except Refused as refused:
        response = JsonResponse({"error": str(refused)}, status=refused.status)
        if refused.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="trunkline"'
        return response
    except ScopeError as error:
        return JsonResponse({"error": str(error)}, status=400)


def _read_only(view: Callable[[HttpRequest], JsonResponse]) -> Callable[[HttpRequest], JsonResponse]:
    """GET (and HEAD) only, answered in JSON otherwise (405 with Allow), whoever calls: the API writes nothing, so
    no CSRF check stands in front of that answer."""

    @wraps(view)
    def guarded(request: HttpRequest) -> JsonResponse:
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse(
                {"error": f"{request.method} is not answered here: the API is read with GET."}, status=405
            )
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return csrf_exempt(guarded)


@login_not_required
@never_cache
@_read_only
def metrics_api(request: HttpRequest) -> JsonResponse:
    return _answer(request, lambda scope: remembered("api", scope, lambda: metrics(scope)))


@login_not_required
@never_cache
@_read_only
def evidence_api(request: HttpRequest) -> JsonResponse:
    return _answer(
        request, lambda scope: evidence(scope, request.GET.get("figure", ""), page_number(request.GET.get("page")))
    )


@login_not_required
@_read_only
def openapi_document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document())
