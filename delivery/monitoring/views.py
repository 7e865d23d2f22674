"""Alertmanager's webhook endpoint, the admins' list of alerts (unmatched ones too), and dismissing an incident."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from delivery.accounts.roles import requires
from delivery.core.http import HtmxHttpRequest
from delivery.monitoring.alert_models import Incident
from delivery.monitoring.alert_selectors import alert_delivery_problems, alert_list
from delivery.monitoring.alertmanager import (
    MAX_BODY_BYTES,
    MalformedAlerts,
    alert_delivery_receive,
    credentials_configured,
    request_authorized,
)
from delivery.monitoring.incidents import incident_dismiss
from delivery.pipeline.forms import DismissForm


@login_not_required
@csrf_exempt
@require_POST
def alertmanager_webhook(request: HttpRequest) -> JsonResponse:
    """Alertmanager's deliveries: authenticate, read, store, queue, answer (processing happens in a task)."""
    if not credentials_configured():
        return _answer(
            401,
            "Alertmanager's webhook is not configured on this Trunkline: set ALERTMANAGER_WEBHOOK_TOKEN (or "
            "ALERTMANAGER_WEBHOOK_USERNAME and ALERTMANAGER_WEBHOOK_PASSWORD)",
        )
    if not request_authorized(request.headers.get("Authorization", "")):
        return _answer(401, "missing or wrong credentials (Authorization: Bearer or Basic)")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    too_big = f"body over {MAX_BODY_BYTES // (1024 * 1024)} MB: lower the receiver's max_alerts"
    if declared > MAX_BODY_BYTES:
        return _answer(413, too_big)
    body = request.read(MAX_BODY_BYTES + 1)  # not request.body: DATA_UPLOAD_MAX_MEMORY_SIZE is smaller
    if len(body) > MAX_BODY_BYTES:
        return _answer(413, too_big)
    try:
        receipt = alert_delivery_receive(body=body)
    except MalformedAlerts as exc:
        return _answer(400, f"not an Alertmanager webhook message: {exc}")
    status = 202 if receipt.status in ("queued", "requeued") else 200
    return _answer(status, receipt.detail or receipt.status, status=receipt.status, delivery=receipt.delivery_id)


def _answer(code: int, message: str, **extra: object) -> JsonResponse:
    response = JsonResponse({"message": message, **extra}, status=code)
    if code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="trunkline", Basic realm="trunkline"'
    return response


@requires("operate_webhooks", what="seeing Alertmanager's alerts")
def alert_list_page(request: HtmxHttpRequest) -> HttpResponse:
    unmatched = request.GET.get("unmatched") == "1"
    page = Paginator(alert_list(unmatched=unmatched), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "alerts": page.object_list,
        "unmatched": unmatched,
        "problems": alert_delivery_problems(),
        "configured": credentials_configured(),
    }
    return render(request, "monitoring/alerts.html", context)


@requires("manage_team", what="dismissing an incident")
@require_POST
def incident_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.select_related("release"), pk=pk)
    form = DismissForm(request.POST)
    if not form.is_valid():  # the reason as typed, with why it was refused
        context = {"incident": incident, "error": form.first_error(), "reason": request.POST.get("reason", "")}
        return render(request, "monitoring/incident_dismiss.html", context, status=400)
    if incident_dismiss(incident=incident, user=request.user, reason=form.cleaned_data["reason"], request=request):
        messages.success(request, "Dismissed: the metrics no longer count this incident as a failure of its release.")
    else:
        messages.info(request, "This incident was dismissed already.")
    return redirect("release", incident.release_id)
