"""E-mail over SMTP, with the evidence JPEG (box drawn) attached."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from alerting.notify.outbox import Delivery, DeliveryError
from pinewatch.core.config import NotifyConfig


def build_message(delivery: Delivery, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = delivery.text.subject
    message["From"] = sender
    message["To"] = delivery.recipient
    message["X-Pinewatch-Alert"] = str(delivery.summary.alert_id)
    message.set_content(delivery.text.body)
    picture = delivery.picture()  # the evidence with the box drawn on a copy
    if picture is not None:
        message.add_attachment(
            picture,
            maintype="image",
            subtype="jpeg",
            filename=f"alert-{delivery.summary.alert_id}.jpg",
        )
    return message


class EmailSender:
    def __init__(self, notify: NotifyConfig):
        self._notify = notify

    def send(self, delivery: Delivery) -> None:
        notify = self._notify
        if not notify.smtp_host:
            raise DeliveryError("alerting.notify.smtp_host is not configured", permanent=True)
        message = build_message(delivery, notify.smtp_from)
        try:
            with smtplib.SMTP(notify.smtp_host, notify.smtp_port, timeout=notify.timeout_s) as smtp:
                if notify.smtp_starttls:
                    smtp.starttls()
                if notify.smtp_username:
                    smtp.login(notify.smtp_username, notify.smtp_password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"SMTP refused the recipient: {exc.recipients}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}") from exc
