"""A page for Django's bare 405: an address that takes a form (POST) opened as a page, e.g. a reload or a link
to a form's address, answers with the product's page saying what happened instead of an empty "HTTP ERROR 405".
(The 403, 404 and 500 pages are templates Django renders itself; 500 through delivery.core.views.server_error.)"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.streaming or response.content:
            return response
        page = render(request, "405.html", {"allowed": response.get("Allow", "")}, status=405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        # Django logged the refusal already (require_POST does): the page that replaces it is not a second one.
        page._has_been_logged = getattr(response, "_has_been_logged", False)  # type: ignore[attr-defined]
        return page
