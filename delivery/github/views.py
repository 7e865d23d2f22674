"""Pages of the GitHub mirror: the repository list with sync status (the home page for now), a manual
"sync now", and the health check."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from delivery.accounts.roles import requires
from delivery.core.filters import filter_misses
from delivery.core.http import HtmxHttpRequest, webhook_answer, webhook_body
from delivery.github.forms import DeliveryReplayForm, RepositorySettingsForm
from delivery.github.models import Repository, SyncRun, WebhookDelivery
from delivery.github.selectors import (
    DELIVERY_FILTERS,
    organization_sync_totals,
    repository_list_with_sync_status,
    webhook_delivery_filter_choices,
    webhook_delivery_list,
    webhook_delivery_totals,
)
from delivery.github.services import repository_settings_save
from delivery.github.sync_lease import sync_run_alive
from delivery.github.tasks import sync_repository_task
from delivery.github.webhook_input import MalformedDelivery, storable_text
from delivery.github.webhook_names import DELIVERY_HEADER, EVENT_HEADER, HOOK_ID_HEADER, SIGNATURE_HEADER
from delivery.github.webhooks import (
    MAX_BODY_BYTES,
    delivery_receive,
    delivery_replay,
    signature_valid,
)


def repository_list(request: HtmxHttpRequest) -> HttpResponse:
    repositories = list(repository_list_with_sync_status())
    context = {
        "repositories": repositories,
        "totals": {"repositories": len(repositories), **organization_sync_totals()},
        "org": settings.GITHUB_ORG,
        "github_url": settings.GITHUB_URL,
        # Live while a sync shows signs of life; a run whose worker died does not keep the page polling.
        "sync_running": SyncRun.objects.filter(sync_run_alive(), status=SyncRun.Status.RUNNING).exists(),
    }
    template = "github/repository_list.html"
    if request.htmx:
        template += "#repository-table"
    return render(request, template, context)


@requires("sync_repository")
@require_POST
def repository_sync(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    repository = get_object_or_404(Repository, pk=pk)
    transaction.on_commit(lambda: sync_repository_task.delay(repository.pk, trigger="manual"))
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Trigger": "syncQueued"})
    return redirect("repositories")


@login_not_required
@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    """GitHub's deliveries: verify the signature, store, queue, answer. Processing happens in a task, so the
    answer never waits for it (GitHub gives up after 10 s)."""
    body = webhook_body(
        request,
        secret=settings.GITHUB_WEBHOOK_SECRET,
        setting="GITHUB_WEBHOOK_SECRET",
        limit=MAX_BODY_BYTES,
        header=SIGNATURE_HEADER,
        signed=signature_valid,
    )
    if isinstance(body, JsonResponse):
        return body
    try:
        receipt = delivery_receive(
            guid=request.headers.get(DELIVERY_HEADER, ""),
            event=request.headers.get(EVENT_HEADER, ""),
            body=body,
            hook_id=request.headers.get(HOOK_ID_HEADER, ""),
            content_type=request.content_type or "",
        )
    except MalformedDelivery as exc:
        return webhook_answer(400, str(exc))
    status = 202 if receipt.status in ("queued", "requeued") else 200
    return webhook_answer(status, receipt.detail or receipt.status, status=receipt.status, delivery=receipt.delivery_id)


# -- the operator's view of deliveries (admin only) ------------------------------------------------------------------
@requires("operate_webhooks")
def webhook_delivery_list_page(request: HtmxHttpRequest) -> HttpResponse:
    filters = {name: request.GET.get(name, "") for name in (*DELIVERY_FILTERS, "q")}  # a NUL is refused before
    page = Paginator(webhook_delivery_list(filters=filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    choices = webhook_delivery_filter_choices()
    context = {
        "page": page,
        "deliveries": page.object_list,
        "filters": filters,
        "choices": choices,
        # Events are judged by nothing: one never delivered yet is still a GitHub event.
        "misses": filter_misses(filters, {name: choices[name] for name in ("repository", "outcome")}),
        "totals": webhook_delivery_totals(since=timezone.now() - timedelta(hours=24)),
        "query": query.urlencode(),
        "webhook_secret_set": bool(settings.GITHUB_WEBHOOK_SECRET),
    }
    template = "github/webhook_deliveries.html"
    if request.htmx and not request.htmx.boosted:
        template += "#delivery-table"
    return render(request, template, context)


@requires("operate_webhooks")
def webhook_delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    body = bytes(delivery.body)
    try:
        pretty = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        pretty = body.decode("utf-8", "replace")
    pretty = storable_text(pretty, len(pretty))  # a "\ud800" escape has no UTF-8 to send
    limit = 200_000
    return render(
        request,
        "github/webhook_delivery_detail.html",
        {"delivery": delivery, "body": pretty[:limit], "truncated": len(pretty) > limit, "size": len(body)},
    )


@requires("operate_webhooks")
@require_POST
def webhook_delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.defer("body"), pk=pk)
    form = DeliveryReplayForm(request.POST, host=request.get_host(), https=request.is_secure())
    form.is_valid()  # never refuses: a value that is not one counts as none
    seen_attempts = form.cleaned_data.get("attempts")  # what the page showed
    if delivery_replay(delivery_id=delivery.pk, seen_attempts=seen_attempts):
        messages.success(request, f"Replaying {delivery.event} delivery {delivery.guid}.")
    elif delivery.outcome == WebhookDelivery.Outcome.FAILED and seen_attempts != delivery.attempts:
        messages.info(
            request, f"Delivery {delivery.guid} was replayed meanwhile ({delivery.attempts} attempts): see its result."
        )
    else:
        messages.info(
            request, f"Delivery {delivery.guid} is {delivery.get_outcome_display().lower()}: nothing to replay."
        )
    return redirect(form.cleaned_data.get("next") or "webhook-deliveries")


@requires("manage_team", what="changing a repository's delivery settings")
def repository_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin edits the repository's delivery settings; each save is an audit event naming what changed."""
    repository = get_object_or_404(Repository, pk=pk)
    form = RepositorySettingsForm(request.POST or None, instance=repository)
    if request.method == "POST" and form.is_valid():
        changed = repository_settings_save(form=form, actor=request.user, request=request)
        if changed:
            messages.success(request, f"Saved: {', '.join(c.lower() for c in changed)}.")
        return redirect("repository", repository.pk)
    return render(
        request,
        "github/repository_settings.html",
        {"repository": repository, "form": form},
        status=400 if request.method == "POST" else 200,
    )
