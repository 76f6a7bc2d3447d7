"""Telegram Bot API: sendPhoto with the evidence (box drawn) and the text as caption
(sendMessage when there is no evidence file). The base URL is configurable so
tests and self-hosted Bot API servers work."""

from __future__ import annotations

import httpx

from alerting.notify.outbox import Delivery, DeliveryError
from pinewatch.core.config import NotifyConfig


class TelegramSender:
    def __init__(self, notify: NotifyConfig):
        self._base_url = notify.telegram_base_url.rstrip("/")
        self._token = notify.telegram_bot_token
        self._timeout_s = notify.timeout_s

    def send(self, delivery: Delivery) -> None:
        if not self._token:
            raise DeliveryError("alerting.notify.telegram_bot_token is not configured", permanent=True)
        picture = delivery.picture()  # the evidence with the box drawn on a copy
        try:
            if picture is not None:
                response = httpx.post(
                    f"{self._base_url}/bot{self._token}/sendPhoto",
                    data={"chat_id": delivery.recipient, "caption": delivery.text.caption},
                    files={"photo": (f"alert-{delivery.summary.alert_id}.jpg", picture, "image/jpeg")},
                    timeout=self._timeout_s,
                )
            else:
                response = httpx.post(
                    f"{self._base_url}/bot{self._token}/sendMessage",
                    json={"chat_id": delivery.recipient, "text": delivery.text.body},
                    timeout=self._timeout_s,
                )
        except httpx.HTTPError as exc:
            # The URL holds the bot token: name the error, not the request.
            raise DeliveryError(f"Telegram {type(exc).__name__}") from exc
        _check(response)


def _check(response: httpx.Response) -> None:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.is_success and answer.get("ok") is True:
        return
    status = response.status_code
    description = answer.get("description") or response.text[:200]
    retry_after = (answer.get("parameters") or {}).get("retry_after")
    permanent = 400 <= status < 500 and status not in (408, 429)
    raise DeliveryError(
        f"Telegram HTTP {status}: {description}",
        permanent=permanent,
        retry_after_s=float(retry_after) if retry_after is not None else None,
    )
