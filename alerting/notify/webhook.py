"""Webhook: POST the alert as JSON, signed with HMAC-SHA256 over the exact body.

Headers: X-Pinewatch-Signature: sha256=<hex> (when notify.webhook_secret is set),
X-Pinewatch-Delivery: <notification id> (the same on every retry, so a receiver
can drop duplicates: delivery is at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from alerting.notify.outbox import Delivery, DeliveryError
from alerting.store.models import utcnow
from pinewatch.core.config import NotifyConfig

SIGNATURE_HEADER = "X-Pinewatch-Signature"
DELIVERY_HEADER = "X-Pinewatch-Delivery"
_RETRYABLE_CLIENT_ERRORS = {408, 409, 425, 429}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(delivery: Delivery) -> dict:
    return {
        "event": f"alert.{delivery.summary.kind}",
        "delivery_id": delivery.notification_id,
        "sent_at": utcnow().isoformat(),
        "language": delivery.language,
        "subject": delivery.text.subject,
        "text": delivery.text.body,
        "link": delivery.summary.link,
        "alert": delivery.alert,
    }


class WebhookSender:
    def __init__(self, notify: NotifyConfig):
        self._secret = notify.webhook_secret
        self._timeout_s = notify.timeout_s

    def send(self, delivery: Delivery) -> None:
        body = json.dumps(payload(delivery), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: str(delivery.notification_id)}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        try:
            response = httpx.post(delivery.recipient, content=body, headers=headers, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        status = response.status_code
        permanent = 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS
        raise DeliveryError(
            f"webhook answered HTTP {status}: {response.text[:200]}",
            permanent=permanent,
            retry_after_s=_retry_after(response),
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return float(value)
    except ValueError:
        return None
