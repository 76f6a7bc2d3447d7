"""Zalo Official Account (Open API): the evidence picture (box drawn) with the alert text.

Two calls per message: upload the picture (POST {base}/v2.0/oa/upload/image, multipart `file`)
for an attachment id, then send a customer-service message (POST {base}/v3.0/oa/message/cs)
with the text and that picture as a media template. Without evidence: the text alone. The
recipient is the Zalo user id of a follower of the OA; the access token goes in the
`access_token` header. Zalo answers HTTP 200 with {"error": 0, ...} on success and a negative
error code otherwise. The base URL is configurable, like Telegram's, so tests run a local server.
"""

from __future__ import annotations

import httpx

from alerting.notify.outbox import Delivery, DeliveryError
from pinewatch.core.config import NotifyConfig

TEXT_LIMIT = 2000  # characters in one Zalo OA text message
# Refusals that another attempt cannot change: bad parameters, the user does not follow the OA.
PERMANENT_ERRORS = {-201, -213}


class ZaloSender:
    def __init__(self, notify: NotifyConfig):
        self._base_url = notify.zalo_base_url.rstrip("/")
        self._token = notify.zalo_access_token
        self._timeout_s = notify.timeout_s

    def send(self, delivery: Delivery) -> None:
        if not self._token:
            raise DeliveryError("alerting.notify.zalo_access_token is not configured", permanent=True)
        headers = {"access_token": self._token}
        body = delivery.text.body
        message: dict = {"text": body if len(body) <= TEXT_LIMIT else body[: TEXT_LIMIT - 1] + "…"}
        picture = delivery.picture()
        try:
            if picture is not None:
                uploaded = _check(
                    httpx.post(
                        f"{self._base_url}/v2.0/oa/upload/image",
                        headers=headers,
                        files={"file": (f"alert-{delivery.summary.alert_id}.jpg", picture, "image/jpeg")},
                        timeout=self._timeout_s,
                    ),
                    "upload",
                )
                attachment_id = (uploaded.get("data") or {}).get("attachment_id")
                if not attachment_id:
                    raise DeliveryError("Zalo upload: no attachment_id in the answer")
                message["attachment"] = {
                    "type": "template",
                    "payload": {"template_type": "media", "elements": [{"media_type": "image", "attachment_id": attachment_id}]},
                }
            _check(
                httpx.post(
                    f"{self._base_url}/v3.0/oa/message/cs",
                    headers=headers,
                    json={"recipient": {"user_id": delivery.recipient}, "message": message},
                    timeout=self._timeout_s,
                ),
                "message",
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Zalo {type(exc).__name__}") from exc  # the token is in a header, not the text


def _check(response: httpx.Response, step: str) -> dict:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    status = response.status_code
    if not response.is_success:
        permanent = 400 <= status < 500 and status not in (408, 429)
        raise DeliveryError(f"Zalo {step} HTTP {status}: {response.text[:200]}", permanent=permanent)
    code = answer.get("error")
    if code == 0:
        return answer
    raise DeliveryError(f"Zalo {step} error {code}: {answer.get('message', '')}"[:300], permanent=code in PERMANENT_ERRORS)
