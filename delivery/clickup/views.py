"""ClickUp's webhook endpoint: verify the signature, store, queue, answer (processing happens in a task)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from delivery.clickup.webhooks import MAX_BODY_BYTES, SIGNATURE_HEADER, delivery_receive, signature_valid
from delivery.core.http import request_body, webhook_answer
from delivery.core.payloads import MalformedDelivery


@login_not_required
@csrf_exempt
@require_POST
def clickup_webhook(request: HttpRequest) -> JsonResponse:
    """A bad or missing signature gets 401 and changes nothing; a signed body that is not a task's delivery 400."""
    secret = settings.CLICKUP_WEBHOOK_SECRET
    if not secret:
        return webhook_answer(503, "ClickUp webhooks are not configured on this Trunkline (CLICKUP_WEBHOOK_SECRET)")
    body = request_body(request, limit=MAX_BODY_BYTES)
    if body is None:
        return webhook_answer(413, f"body over {MAX_BODY_BYTES // (1024 * 1024)} MB")
    if not signature_valid(secret=secret, body=body, header=request.headers.get(SIGNATURE_HEADER, "")):
        return webhook_answer(401, f"missing or wrong {SIGNATURE_HEADER}")
    try:
        receipt = delivery_receive(body=body)
    except MalformedDelivery as exc:
        return webhook_answer(400, str(exc))
    status = 202 if receipt.status in ("queued", "requeued") else 200
    return webhook_answer(status, receipt.detail or receipt.status, status=receipt.status, delivery=receipt.delivery_id)
