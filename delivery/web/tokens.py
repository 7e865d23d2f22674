"""A person's own API tokens: make one (shown once), see when each was last used, revoke it."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from delivery.accounts.models import ApiToken
from delivery.accounts.tokens import token_create, token_revoke, tokens_of
from delivery.web.forms import TokenForm

DEFAULT_DAYS = 90


@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    made = None
    form = TokenForm(initial={"days": DEFAULT_DAYS})
    status = 200
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            _token, made = token_create(
                user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"], request=request
            )
            form = TokenForm(initial={"days": DEFAULT_DAYS})
        else:
            status = 400
    context = {"tokens": tokens_of(request.user), "form": form, "made": made, "now": timezone.now()}
    return render(request, "accounts/tokens.html", context, status=status)


@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=pk).first()
    if token is None or not token_revoke(token=token, user=request.user, request=request):
        raise Http404("No such token of yours.")
    messages.success(request, f"Revoked the token {token.name!r}: it no longer opens the API.")
    return redirect("tokens")
