"""SMS through a generic HTTP gateway: URL, method and body template from the config.

The text is one GSM-7 SMS (alerting.notify.texts.render_sms: 160 characters, Vietnamese without
diacritics, local time of fire_danger.timezone). `{to}` and `{text}` are filled into
notify.sms_url (URL-encoded) and into each value of notify.sms_body_template, which is sent as
JSON or a form (POST) or as query parameters (GET), with notify.sms_headers (an API key: use
${ENV} in the file). A 2xx answer is a sent SMS, unless notify.sms_success_contains is set and the
answer lacks it (gateways that answer 200 to a refusal).
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from alerting.notify.outbox import Delivery, DeliveryError
from alerting.notify.texts import render_sms
from pinewatch.core.config import NotifyConfig


def fill(template: str, to: str, text: str, escape=lambda value: value) -> str:
    # str.replace, not format: a template may hold other braces (a JSON snippet, a URL).
    return template.replace("{to}", escape(to)).replace("{text}", escape(text))


class SmsSender:
    def __init__(self, notify: NotifyConfig, timezone: str):
        self._notify = notify
        self._timezone = timezone

    def send(self, delivery: Delivery) -> None:
        notify = self._notify
        if not notify.sms_url:
            raise DeliveryError("alerting.notify.sms_url is not configured", permanent=True)
        text = render_sms(delivery.summary, delivery.language, self._timezone)
        url = fill(notify.sms_url, delivery.recipient, text, lambda value: quote(value, safe=""))
        fields = {key: fill(value, delivery.recipient, text) for key, value in notify.sms_body_template.items()}
        request: dict = {"headers": notify.sms_headers, "timeout": notify.timeout_s}
        if notify.sms_method == "GET":
            request["params"] = fields
        elif notify.sms_body_format == "json":
            request["json"] = fields
        else:
            request["data"] = fields
        try:
            response = httpx.request(notify.sms_method, url, **request)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway {type(exc).__name__}") from exc  # the URL may hold a key
        if not response.is_success:
            status = response.status_code
            raise DeliveryError(
                f"SMS gateway HTTP {status}: {response.text[:200]}", permanent=400 <= status < 500 and status not in (408, 429)
            )
        if notify.sms_success_contains and notify.sms_success_contains not in response.text:
            raise DeliveryError(f"SMS gateway refused: {response.text[:200]}")
